using Microsoft.Extensions.Time.Testing;
using Restante.Auth;
using Restante.Networking;
using Restante.Tests.Infrastructure;

namespace Restante.Tests.Abuse;

public class LimitTests
{
    [Fact]
    public async Task Connections_over_the_per_address_limit_are_refused_and_established_ones_keep_working()
    {
        var limits = new ConnectionLimitOptions { MaxConnectionsPerIp = 2, TrustLoopback = false };
        await using var server = await TestServer.StartAsync(limits: limits);
        server.AddUser("alice", "secret");
        await using var first = await server.LoginAsync("alice", "secret");
        await using var second = await server.ConnectAsync();
        await second.ExpectAsync("+OK");

        await using (var third = await server.ConnectAsync())
        {
            Assert.Equal("-ERR [SYS/TEMP] Too many connections, try again later.", await third.ReadLineAsync());
            Assert.True(await third.IsClosedAsync());
        }

        await first.SendAsync("STAT");
        await first.ExpectAsync("+OK 0 0");
        await second.SendAsync("CAPA");
        await second.ExpectAsync("+OK");
        await second.ReadMultiLineAsync();

        // A slot freed is a slot available again.
        await second.SendAsync("QUIT");
        await second.ExpectAsync("+OK");
        Assert.True(await second.IsClosedAsync());
        await Task.Delay(100);
        await using var fourth = await server.ConnectAsync();
        await fourth.ExpectAsync("+OK Restante");
    }

    [Fact]
    public async Task Trusted_loopback_is_exempt_from_the_per_address_limit_but_not_the_total()
    {
        var limits = new ConnectionLimitOptions { MaxConnectionsPerIp = 1, MaxConnections = 3 };
        await using var server = await TestServer.StartAsync(limits: limits);
        var open = new List<Transcript>();
        for (var i = 0; i < 3; i++)
        {
            var c = await server.ConnectAsync();
            await c.ExpectAsync("+OK");
            open.Add(c);
        }
        await using (var over = await server.ConnectAsync())
            await over.ExpectAsync("-ERR [SYS/TEMP] Too many connections");
        foreach (var c in open) await c.DisposeAsync();
    }

    [Fact]
    public async Task Repeated_failures_block_the_address_without_checking_the_password()
    {
        var throttle = new LoginThrottleOptions { MaxFailuresPerIp = 3, BlockDuration = TimeSpan.FromMinutes(15) };
        await using var server = await TestServer.StartAsync(limits: new ConnectionLimitOptions { TrustLoopback = false }, throttle: throttle);
        server.AddUser("alice", "secret");
        await using var c = await server.ConnectAsync();
        await c.ExpectAsync("+OK");
        for (var i = 0; i < 3; i++)
        {
            await c.SendAsync("USER alice");
            await c.ExpectAsync("+OK");
            await c.SendAsync("PASS guess" + i);
            await c.ExpectAsync("-ERR [AUTH] Authentication failed.");
        }
        // Even the right password is refused now, and on a fresh connection too.
        await c.SendAsync("USER alice");
        await c.ExpectAsync("+OK");
        await c.SendAsync("PASS secret");
        Assert.Equal("-ERR [SYS/TEMP] Too many failed logins from your address, try again later.", await c.ReadLineAsync());
        await using var d = await server.ConnectAsync();
        await d.ExpectAsync("+OK");
        await d.SendAsync("APOP alice 00000000000000000000000000000000");
        await d.ExpectAsync("-ERR [SYS/TEMP] Too many failed logins");

        var blocks = server.Logs.Lines.Count(l => l.Contains("Blocked login attempts from 127.0.0.1", StringComparison.Ordinal));
        Assert.Equal(1, blocks);
    }

    [Fact]
    public async Task Loopback_is_never_throttled_by_default()
    {
        var throttle = new LoginThrottleOptions { MaxFailuresPerIp = 1 };
        await using var server = await TestServer.StartAsync(throttle: throttle);
        server.AddUser("alice", "secret");
        await using var c = await server.ConnectAsync();
        await c.ExpectAsync("+OK");
        for (var i = 0; i < 3; i++)
        {
            await c.SendAsync("USER alice");
            await c.ExpectAsync("+OK");
            await c.SendAsync("PASS wrong");
            await c.ExpectAsync("-ERR [AUTH]");
        }
        await c.SendAsync("USER alice");
        await c.ExpectAsync("+OK");
        await c.SendAsync("PASS secret");
        await c.ExpectAsync("+OK Logged in");
    }

    [Fact]
    public async Task Login_delay_is_announced_and_enforced_after_the_password()
    {
        var time = new FakeTimeProvider();
        await using var server = await TestServer.StartAsync(o => o.LoginDelay = TimeSpan.FromMinutes(5), timeProvider: time);
        server.AddUser("alice", "secret");
        await using (var c = await server.LoginAsync("alice", "secret"))
        {
            await c.SendAsync("CAPA");
            await c.ExpectAsync("+OK");
            Assert.Contains("LOGIN-DELAY 300", await c.ReadMultiLineAsync());
            await c.SendAsync("QUIT");
            await c.ExpectAsync("+OK");
        }
        await using (var c = await server.ConnectAsync())
        {
            await c.ExpectAsync("+OK");
            await c.SendAsync("USER alice");
            await c.ExpectAsync("+OK");
            await c.SendAsync("PASS secret");
            Assert.Equal("-ERR [LOGIN-DELAY] Minimum time between logins not reached, try again later.", await c.ReadLineAsync());
        }
        time.Advance(TimeSpan.FromMinutes(5));
        await using var later = await server.LoginAsync("alice", "secret");
    }
}
