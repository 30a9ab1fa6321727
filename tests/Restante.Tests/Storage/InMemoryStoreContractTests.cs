using Restante.Storage;
using Restante.Storage.InMemory;

namespace Restante.Tests.Storage;

public sealed class InMemoryStoreContractTests : MailStoreContract
{
    protected override Task<IMailBackend> CreateStoreAsync() => Task.FromResult<IMailBackend>(new InMemoryMailStore());
}
