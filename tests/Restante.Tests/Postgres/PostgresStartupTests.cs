using System.Text.Json;
using Npgsql;
using Restante.Postgres;
using Restante.Tests.Infrastructure;

namespace Restante.Tests.Postgres;

/// <summary>What a node does when the database is not what it needs: an old schema, or no database at all.</summary>
[Collection(nameof(PostgresCollection))]
public sealed class PostgresStartupTests
{
    private static Task<(int ExitCode, string Output)> RunCliAsync(params string[] arguments)
        => Restante.Tests.Tls.Processes.RunAsync("dotnet", null, [ServerProcess.CliPath, .. arguments]);

    [PostgresFact]
    public async Task Serve_refuses_a_database_without_the_schema_and_says_to_migrate_then_starts_once_migrated()
    {
        var cluster = await PostgresCluster.SharedAsync();
        var connectionString = await cluster.CreateEmptyDatabaseAsync();
        using var data = new TempDirectory();
        string[] store = ["--store", "postgres", "--postgres", connectionString];

        var refused = await Assert.ThrowsAsync<InvalidOperationException>(() => ServerProcess.StartAsync(data.Path, null, store));
        Assert.Contains("has no Restante schema", refused.Message, StringComparison.Ordinal);
        Assert.Contains("restante db migrate", refused.Message, StringComparison.Ordinal);

        var migrate = await RunCliAsync(["db", "migrate", "--postgres", connectionString]);
        Assert.True(migrate.ExitCode == 0, migrate.Output);
        await using var node = await ServerProcess.StartAsync(data.Path, null, store);
        Assert.False(node.HasExited);
    }

    [PostgresFact]
    public async Task Serve_refuses_a_schema_older_than_it_needs()
    {
        var cluster = await PostgresCluster.SharedAsync();
        var connectionString = await cluster.CreateDatabaseAsync();
        await using (var db = NpgsqlDataSource.Create(connectionString))
        await using (var command = db.CreateCommand("DELETE FROM restante_schema WHERE version = $1"))
        {
            command.Parameters.AddWithValue(PostgresSchema.LatestVersion);
            await command.ExecuteNonQueryAsync();
        }
        using var data = new TempDirectory();

        var refused = await Assert.ThrowsAsync<InvalidOperationException>(
            () => ServerProcess.StartAsync(data.Path, null, "--store", "postgres", "--postgres", connectionString));
        Assert.Contains($"is at schema version {PostgresSchema.LatestVersion - 1}", refused.Message, StringComparison.Ordinal);
        Assert.Contains($"needs version {PostgresSchema.LatestVersion}", refused.Message, StringComparison.Ordinal);
        Assert.Contains("restante db migrate", refused.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_login_while_the_user_table_is_unreachable_gets_sys_temp_and_keeps_the_connection()
    {
        using var data = new TempDirectory();
        // Nothing listens there: every lookup fails at once (connection refused).
        var down = new NpgsqlConnectionStringBuilder { Host = "127.0.0.1", Port = ServerProcess.FreePort(), Username = "postgres", Database = "x", Timeout = 3 }.ConnectionString;
        var config = Path.Combine(data.Path, "restante.json");
        await File.WriteAllTextAsync(config, JsonSerializer.Serialize(new
        {
            Users = "postgres",
            Postgres = new { ConnectionString = down },
            Tls = false,
            AuthFailureDelay = "00:00:00.050",
        }));
        await using var node = await ServerProcess.StartAsync(data.Path, null, "--config", config);
        await using var c = await node.ConnectAsync();
        await c.ExpectAsync("+OK");
        await c.SendAsync("USER alice");
        await c.ExpectAsync("+OK");
        await c.SendAsync("PASS pw");
        await c.ExpectAsync("-ERR [SYS/TEMP]");
        // Still the same session, still in AUTHORIZATION: the client may simply try again later.
        await c.SendAsync("QUIT");
        await c.ExpectAsync("+OK");
    }
}
