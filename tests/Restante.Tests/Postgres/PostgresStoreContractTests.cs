using Restante.Postgres;
using Restante.Storage;
using Restante.Tests.Storage;

namespace Restante.Tests.Postgres;

[Collection(nameof(PostgresCollection))]
[ContractSkip(typeof(PostgresCluster), nameof(PostgresCluster.Unavailable))]
public sealed class PostgresStoreContractTests : MailStoreContract
{
    protected override async Task<IMailBackend> CreateStoreAsync()
    {
        var cluster = await PostgresCluster.SharedAsync();
        // Small chunks, so the large-message fact crosses many chunk boundaries.
        return new PostgresMailStore(new PostgresStoreOptions { ConnectionString = await cluster.CreateDatabaseAsync(), ChunkSize = 64 * 1024 });
    }
}
