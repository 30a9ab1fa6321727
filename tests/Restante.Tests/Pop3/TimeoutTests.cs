using Microsoft.Extensions.Time.Testing;
using Restante.Tests.Infrastructure;

namespace Restante.Tests.Pop3;

public class TimeoutTests
{
    /// <summary>Moves fake time a minute at a time until the server hangs up; returns how far it moved.</summary>
    private static async Task<TimeSpan> AdvanceUntilClosedAsync(FakeTimeProvider time, Transcript client, string expectedGoodbye)
    {
        var moved = TimeSpan.Zero;
        var read = client.ReadLineAsync();
        while (!read.IsCompleted)
        {
            Assert.True(moved < TimeSpan.FromMinutes(30), "never timed out");
            time.Advance(TimeSpan.FromMinutes(1));
            moved += TimeSpan.FromMinutes(1);
            // Real time for the session to react before the clock moves on: too short, and a loaded machine
            // answers a minute "late" on the fake clock (seen once at 12 minutes in a full run).
            await Task.WhenAny(read, Task.Delay(300));
        }
        Assert.Equal(expectedGoodbye, await read);
        Assert.True(await client.IsClosedAsync());
        return moved;
    }

    [Fact]
    public async Task Idle_transaction_session_is_closed_after_ten_minutes_and_deletes_nothing()
    {
        var time = new FakeTimeProvider();
        await using var server = await TestServer.StartAsync(timeProvider: time);
        server.AddUser("alice", "secret");
        server.Deliver("alice", "Subject: x\n\nx\n");
        await using var c = await server.LoginAsync("alice", "secret");
        await c.SendAsync("DELE 1");
        await c.ExpectAsync("+OK");
        await Task.Delay(100);

        var moved = await AdvanceUntilClosedAsync(time, c, "-ERR Disconnected for inactivity.");
        Assert.InRange(moved, TimeSpan.FromMinutes(10), TimeSpan.FromMinutes(11));
        Assert.Single(server.MessageFiles("alice"));
    }

    [Fact]
    public async Task A_connection_that_does_not_log_in_is_closed_after_a_minute()
    {
        var time = new FakeTimeProvider();
        await using var server = await TestServer.StartAsync(timeProvider: time);
        await using var c = await server.ConnectAsync();
        await c.ExpectAsync("+OK");
        await Task.Delay(100);
        var moved = await AdvanceUntilClosedAsync(time, c, "-ERR Disconnected for inactivity.");
        Assert.InRange(moved, TimeSpan.FromMinutes(1), TimeSpan.FromMinutes(2));
    }

    [Fact]
    public async Task A_client_trickling_bytes_before_login_is_still_closed_after_the_login_timeout()
    {
        var time = new FakeTimeProvider();
        await using var server = await TestServer.StartAsync(timeProvider: time);
        await using var c = await server.ConnectAsync();
        await c.ExpectAsync("+OK");
        var read = c.ReadLineAsync();
        var moved = TimeSpan.Zero;
        foreach (var b in "USER slowloris-never-finishes"u8.ToArray())
        {
            if (read.IsCompleted) break;
            await c.SendRawAsync([b]);
            await Task.Delay(30);
            time.Advance(TimeSpan.FromSeconds(10));
            moved += TimeSpan.FromSeconds(10);
            await Task.WhenAny(read, Task.Delay(200));
        }
        Assert.True(read.IsCompleted, "the trickling client was never disconnected");
        Assert.Equal("-ERR Disconnected for inactivity.", await read);
        Assert.InRange(moved, TimeSpan.FromMinutes(1), TimeSpan.FromSeconds(80));
    }

    [Fact]
    public async Task Each_command_after_login_restarts_the_idle_timer()
    {
        var time = new FakeTimeProvider();
        await using var server = await TestServer.StartAsync(timeProvider: time);
        server.AddUser("alice", "secret");
        await using var c = await server.LoginAsync("alice", "secret");
        for (var i = 0; i < 4; i++)
        {
            await Task.Delay(50);
            time.Advance(TimeSpan.FromMinutes(8));
            await c.SendAsync("NOOP");
            Assert.Equal("+OK", await c.ReadLineAsync());
        }
    }
}
