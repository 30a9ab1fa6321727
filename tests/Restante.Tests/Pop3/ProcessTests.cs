using Restante.Tests.Infrastructure;

namespace Restante.Tests.Pop3;

/// <summary>The server as a real process: killed, restarted and stopped by signals.</summary>
public class ProcessTests
{
    [Fact]
    public async Task A_SIGKILLed_server_leaves_no_stale_lock_and_deletes_nothing()
    {
        using var data = new TempDirectory();
        ServerProcess.Seed(data.Path, "alice", "secret", 3);
        var server = await ServerProcess.StartAsync(data.Path);
        var c = await server.LoginAsync("alice", "secret");
        await c.SendAsync("DELE 1");
        await c.ExpectAsync("+OK");
        server.Signal("KILL");
        await server.WaitForExitAsync(TimeSpan.FromSeconds(20));
        await server.DisposeAsync();
        c.Abort();

        await using var restarted = await ServerProcess.StartAsync(data.Path);
        await using var again = await restarted.LoginAsync("alice", "secret");
        await again.SendAsync("STAT");
        await again.ExpectAsync("+OK 3 ");
    }

    [Fact]
    public async Task SIGTERM_stops_cleanly_and_open_sessions_delete_nothing()
    {
        using var data = new TempDirectory();
        ServerProcess.Seed(data.Path, "alice", "secret", 2);
        await using var server = await ServerProcess.StartAsync(data.Path);
        await using var c = await server.LoginAsync("alice", "secret");
        await c.SendAsync("DELE 1");
        await c.ExpectAsync("+OK");
        await c.SendAsync("DELE 2");
        await c.ExpectAsync("+OK");

        server.Signal("TERM");
        var exitCode = await server.WaitForExitAsync(TimeSpan.FromSeconds(30));
        Assert.Equal(0, exitCode);
        Assert.Equal("-ERR Server shutting down.", await c.ReadLineAsync());
        var root = Path.Combine(data.Path, "mail", "alice");
        var files = Directory.GetFiles(Path.Combine(root, "new")).Concat(Directory.GetFiles(Path.Combine(root, "cur")));
        Assert.Equal(2, files.Count());
    }

    [Fact]
    public async Task First_start_creates_the_data_directory_and_says_how_to_add_a_user()
    {
        using var parent = new TempDirectory();
        var data = Path.Combine(parent.Path, "fresh");
        await using var server = await ServerProcess.StartAsync(data);
        Assert.True(Directory.Exists(data));
        Assert.True(await server.WaitForOutputAsync(l => l.Contains("restante user add", StringComparison.Ordinal)), string.Join("\n", server.Output));
        await using var c = await server.ConnectAsync();
        await c.ExpectAsync("+OK");
    }
}
