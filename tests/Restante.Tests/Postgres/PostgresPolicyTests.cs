using Npgsql;
using Restante.Pop3;
using Restante.Postgres;
using Restante.Tests.Infrastructure;
using Restante.Tests.Policies;
using Restante.Tests.Storage;

namespace Restante.Tests.Postgres;

/// <summary>The mailbox policies over PostgreSQL: mailbox.last_login_at, message.first_retrieved_at and deleted_at.</summary>
[Collection(nameof(PostgresCollection))]
[ContractSkip(typeof(PostgresCluster), nameof(PostgresCluster.Unavailable))]
public sealed class PostgresPolicyTests : MailboxPolicyContract
{
    private readonly List<PostgresMailStore> _stores = [];
    private string? _connectionString;

    private protected override async Task<TestServer> StartServerAsync(Action<Pop3Options> configure, int retentionDays = 0)
    {
        _connectionString ??= await (await PostgresCluster.SharedAsync()).CreateDatabaseAsync();
        // A restart is a new store over the same database, as a new process would make.
        var store = new PostgresMailStore(new PostgresStoreOptions { ConnectionString = _connectionString }, null, Time, retentionDays);
        _stores.Add(store);
        return await TestServer.StartAsync(configure, Time, data: Data, configureServer: o => o.Retention.Days = retentionDays, store: store);
    }

    protected override string[] CliStoreArguments => ["--store", "postgres", "--postgres", _connectionString!];

    private protected override async Task<int> CountRetainedAsync(TestServer server)
    {
        await using var dataSource = NpgsqlDataSource.Create(_connectionString!);
        await using var command = dataSource.CreateCommand("SELECT count(*) FROM message WHERE deleted_at IS NOT NULL");
        return (int)(long)(await command.ExecuteScalarAsync())!;
    }

    protected override void DisposeStore()
    {
        foreach (var store in _stores) store.DisposeAsync().AsTask().GetAwaiter().GetResult();
    }
}
