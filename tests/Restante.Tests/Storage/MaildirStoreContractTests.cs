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

    /// <summary>Maildir delivery stores CRLF line ends (see WireFormConverter): a bare LF gains a CR, an unterminated last line a CRLF.</summary>
    protected override string AsStored(string delivered)
    {
        if (delivered.Length == 0) return delivered;
        var crlf = System.Text.RegularExpressions.Regex.Replace(delivered, "(?<!\r)\n", "\r\n");
        return crlf.EndsWith('\n') ? crlf : crlf + "\r\n";
    }

    [ContractFact(Skip = "Maildir keeps no delivery id: a message is a file named at delivery, and nothing records who asked for it.")]
    public override Task A_delivery_id_makes_a_retried_delivery_a_no_op() => Task.CompletedTask;
}
