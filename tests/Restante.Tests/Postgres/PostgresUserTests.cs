using System.Text.Json;
using Restante.Tests.Infrastructure;

namespace Restante.Tests.Postgres;

/// <summary>The PostgreSQL user table as a second user directory: `restante user …` edits it, every node reads it.</summary>
[Collection(nameof(PostgresCollection))]
public sealed class PostgresUserTests
{
    private static Task<(int ExitCode, string Output)> RunCliAsync(string? stdin, params string[] arguments)
        => Restante.Tests.Tls.Processes.RunAsync("dotnet", stdin, [ServerProcess.CliPath, .. arguments]);

    [PostgresFact]
    public async Task User_commands_edit_the_table_and_a_server_with_users_postgres_logs_them_in()
    {
        var cluster = await PostgresCluster.SharedAsync();
        var connectionString = await cluster.CreateDatabaseAsync();
        using var data = new TempDirectory();
        string[] table = ["--users", "postgres", "--postgres", connectionString, "--data", data.Path];

        var add = await RunCliAsync("first\n", ["user", "add", "alice", "--password-stdin", .. table]);
        Assert.True(add.ExitCode == 0, add.Output);
        var again = await RunCliAsync("x\n", ["user", "add", "alice", "--password-stdin", .. table]);
        Assert.Equal(1, again.ExitCode);
        Assert.Contains("already exists", again.Output, StringComparison.Ordinal);
        var passwd = await RunCliAsync("second\n", ["user", "passwd", "alice", "--password-stdin", .. table]);
        Assert.True(passwd.ExitCode == 0, passwd.Output);
        Assert.True((await RunCliAsync("pw\n", ["user", "add", "bob", "--password-stdin", "--scheme", "PLAIN", .. table])).ExitCode == 0);
        var list = await RunCliAsync(null, ["user", "list", .. table]);
        Assert.Equal(["alice", "bob"], list.Output.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries));
        // Nothing went to the passwd file.
        Assert.False(File.Exists(Path.Combine(data.Path, "passwd")));

        var config = Path.Combine(data.Path, "restante.json");
        await File.WriteAllTextAsync(config, JsonSerializer.Serialize(new
        {
            Store = "postgres",
            Users = "postgres",
            Postgres = new { ConnectionString = connectionString },
            Tls = false,
            AuthFailureDelay = "00:00:00.050",
        }));
        await using var node = await ServerProcess.StartAsync(data.Path, null, "--config", config);
        await using (var c = await node.ConnectAsync())
        {
            await c.ExpectAsync("+OK");
            await c.SendAsync("USER alice");
            await c.ExpectAsync("+OK");
            await c.SendAsync("PASS second");
            await c.ExpectAsync("+OK");
        }

        Assert.True((await RunCliAsync(null, ["user", "del", "alice", .. table])).ExitCode == 0);
        await using (var c = await node.ConnectAsync())
        {
            await c.ExpectAsync("+OK");
            await c.SendAsync("USER alice");
            await c.ExpectAsync("+OK");
            await c.SendAsync("PASS second");
            await c.ExpectAsync("-ERR [AUTH]");
        }
        Assert.Equal(["bob"], (await RunCliAsync(null, ["user", "list", .. table])).Output.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries));
    }
}
