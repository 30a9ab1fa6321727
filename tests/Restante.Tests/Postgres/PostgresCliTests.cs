using Npgsql;
using Restante.Cli;
using Restante.Tests.Infrastructure;

namespace Restante.Tests.Postgres;

/// <summary>`restante db migrate` and `restante deliver --store postgres`, as an operator runs them.</summary>
[Collection(nameof(PostgresCollection))]
public sealed class PostgresCliTests
{
    private static Task<(int ExitCode, string Output)> RunCliAsync(params string[] arguments)
        => Restante.Tests.Tls.Processes.RunAsync("dotnet", null, [ServerProcess.CliPath, .. arguments]);

    [PostgresFact]
    public async Task Db_migrate_creates_the_schema_and_is_a_no_op_the_second_time()
    {
        var cluster = await PostgresCluster.SharedAsync();
        var connectionString = await cluster.CreateEmptyDatabaseAsync();
        var first = await RunCliAsync("db", "migrate", "--postgres", connectionString);
        Assert.True(first.ExitCode == 0, first.Output);
        Assert.Contains("Applied schema version(s) 1", first.Output, StringComparison.Ordinal);
        var second = await RunCliAsync("db", "migrate", "--postgres", connectionString);
        Assert.True(second.ExitCode == 0, second.Output);
        Assert.Contains("up to date", second.Output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Db_migrate_without_a_connection_string_says_how_to_give_one()
    {
        var result = await RunCliAsync("db", "migrate");
        Assert.Equal(1, result.ExitCode);
        Assert.Contains("--postgres", result.Output, StringComparison.Ordinal);
    }

    [PostgresFact]
    public async Task Deliver_puts_the_message_into_the_configured_postgres_store()
    {
        var cluster = await PostgresCluster.SharedAsync();
        var connectionString = await cluster.CreateDatabaseAsync();
        using var data = new TempDirectory();
        await File.WriteAllTextAsync(Path.Combine(data.Path, "passwd"), "alice:{PLAIN}pw::::::\n");
        var overrides = new Dictionary<string, string?>
        {
            ["DataDirectory"] = data.Path,
            ["Store"] = "postgres",
            ["Postgres:ConnectionString"] = connectionString,
        };
        using var input = new MemoryStream("Subject: via deliver\n\nhello\n"u8.ToArray());
        using var error = new StringWriter();
        var code = await DeliverCommand.RunAsync("alice", "s@example.org", null, overrides, input, error, CancellationToken.None);
        Assert.True(code == DeliverCommand.ExOk, error.ToString());
        Assert.False(Directory.Exists(Path.Combine(data.Path, "mail")), "deliver wrote a Maildir");
        await using var dataSource = NpgsqlDataSource.Create(connectionString);
        await using var command = dataSource.CreateCommand("SELECT count(*) FROM message m JOIN mailbox b ON b.id = m.mailbox_id WHERE b.name = 'alice'");
        Assert.Equal(1L, await command.ExecuteScalarAsync());
    }

    [PostgresFact]
    public async Task Deliver_with_the_database_down_asks_the_mta_to_retry()
    {
        using var data = new TempDirectory();
        await File.WriteAllTextAsync(Path.Combine(data.Path, "passwd"), "alice:{PLAIN}pw::::::\n");
        var down = new NpgsqlConnectionStringBuilder { Host = "127.0.0.1", Port = ServerProcess.FreePort(), Username = "postgres", Database = "x", Timeout = 3 }.ConnectionString;
        var overrides = new Dictionary<string, string?> { ["DataDirectory"] = data.Path, ["Store"] = "postgres", ["Postgres:ConnectionString"] = down };
        using var input = new MemoryStream("Subject: x\n\nx\n"u8.ToArray());
        using var error = new StringWriter();
        Assert.Equal(DeliverCommand.ExTempFail, await DeliverCommand.RunAsync("alice", "", null, overrides, input, error, CancellationToken.None));
    }
}
