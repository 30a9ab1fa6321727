using Restante.Storage;
using Restante.Storage.Maildir;

namespace Restante.Tests.Storage;

public sealed class MaildirStoreContractTests : MailStoreContract
{
    private readonly string _root = Path.Combine(Path.GetTempPath(), "restante-contract-" + Guid.NewGuid().ToString("N"));

    protected override Task<IMailBackend> CreateStoreAsync()
        => Task.FromResult<IMailBackend>(new MaildirStore(Path.Combine(_root, "%u", "Maildir"), fsync: false));

    protected override Task CleanUpAsync()
    {
        if (Directory.Exists(_root)) Directory.Delete(_root, recursive: true);
        return Task.CompletedTask;
    }

    [ContractFact(Skip = "Maildir keeps no delivery id: a message is a file named at delivery, and nothing records who asked for it.")]
    public override Task A_delivery_id_makes_a_retried_delivery_a_no_op() => Task.CompletedTask;
}
