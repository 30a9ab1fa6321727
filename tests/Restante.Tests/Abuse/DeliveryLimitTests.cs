using System.Diagnostics;
using System.Text;
using Restante.Networking;
using Restante.Tests.Infrastructure;

namespace Restante.Tests.Abuse;

/// <summary>Issue 9 §2: the LMTP/SMTP listeners have their own connection limits and a time limit for one DATA.</summary>
public class DeliveryLimitTests
{
    [Fact]
    public async Task Lmtp_connections_over_the_limit_get_421_while_pop3_logins_and_held_sessions_go_on()
    {
        // POP3 kept small too, so that nothing is scaled down to fit the test process's descriptor limit.
        await using var server = await TestServer.StartAsync(limits: new ConnectionLimitOptions { MaxConnections = 100 },
            lmtpConnections: new ListenerConnectionLimits { MaxConnections = 20 });
        server.AddUser("alice", "secret");
        var held = new List<Transcript>();
        for (var i = 0; i < 20; i++)
        {
            var c = await server.ConnectLmtpAsync();
            await c.ExpectAsync("220 ");
            held.Add(c);
        }

        for (var i = 0; i < 10; i++)
        {
            await using var extra = await server.ConnectLmtpAsync();
            // RFC 5321 §4.2: 421 <domain> ..., then the server closes.
            Assert.Equal("421 4.3.2 test.example Too many connections, try again later", await extra.ReadLineAsync());
            Assert.True(await extra.IsClosedAsync());
        }

        // POP3 has its own slots: logins work while LMTP is full.
        await using (var pop = await server.LoginAsync("alice", "secret"))
        {
            await pop.SendAsync("STAT");
            await pop.ExpectAsync("+OK 0 0");
        }

        // The held sessions still work, and a freed slot is taken by the next client.
        await held[0].SendAsync("LHLO client.example");
        await Lmtp.Lmtp.ReadReplyAsync(held[0]);
        await Lmtp.Lmtp.SendMessageAsync(held[0], "s@example.org", Lmtp.Lmtp.Message, "alice");
        await held[0].ExpectAsync("250 2.0.0");
        await held[1].SendAsync("QUIT");
        await held[1].ExpectAsync("221");
        Assert.True(await held[1].IsClosedAsync());
        await using (var next = await ConnectWhenFreeAsync(server))
        {
            await next.SendAsync("QUIT");
        }
        foreach (var c in held) await c.DisposeAsync();
        Assert.Single(server.MessageFiles("alice"));
    }

    [Fact]
    public async Task Lmtp_per_address_limit_applies_to_untrusted_peers()
    {
        await using var server = await TestServer.StartAsync(
            limits: new ConnectionLimitOptions { TrustLoopback = false, MaxConnections = 100 },
            lmtpConnections: new ListenerConnectionLimits { MaxConnections = 50, MaxConnectionsPerIp = 3 });
        var held = new List<Transcript>();
        for (var i = 0; i < 3; i++)
        {
            var c = await server.ConnectLmtpAsync();
            await c.ExpectAsync("220 ");
            held.Add(c);
        }
        await using (var extra = await server.ConnectLmtpAsync())
            await extra.ExpectAsync("421 4.3.2 ");
        // The POP3 listener counts separately.
        await using (var pop = await server.ConnectAsync())
            await pop.ExpectAsync("+OK Restante");
        foreach (var c in held) await c.DisposeAsync();
    }

    [Fact]
    public async Task A_data_section_that_trickles_forever_is_cut_at_the_data_time_limit()
    {
        await using var server = await TestServer.StartAsync();
        server.AddUser("alice", "secret");
        // The idle timeout restarts with every line and never fires here; only the DATA limit can.
        server.Server.LmtpLimits.IdleTimeout = TimeSpan.FromMinutes(5);
        server.Server.LmtpLimits.DataTimeout = TimeSpan.FromSeconds(2);
        await using var c = await server.ConnectLmtpAsync();
        await c.ExpectAsync("220 ");
        await c.SendAsync("LHLO client.example");
        await Lmtp.Lmtp.ReadReplyAsync(c);
        await c.SendAsync("MAIL FROM:<s@example.org>");
        await c.ExpectAsync("250");
        await c.SendAsync("RCPT TO:<alice>");
        await c.ExpectAsync("250");
        await c.SendAsync("DATA");
        await c.ExpectAsync("354");

        var watch = Stopwatch.StartNew();
        var trickle = Task.Run(async () =>
        {
            try
            {
                for (var i = 0; i < 100; i++)
                {
                    await c.SendRawAsync(Encoding.ASCII.GetBytes($"line {i}\r\n"));
                    await Task.Delay(200);
                }
            }
            catch (IOException)
            {
                // Cut off: what the test expects.
            }
        });
        Assert.Equal("421 4.4.2 DATA took too long, closing connection", await c.ReadLineAsync());
        Assert.True(await c.IsClosedAsync());
        // Generous bounds for a loaded machine: not before the limit, and long before the 20 s of trickling.
        Assert.InRange(watch.Elapsed, TimeSpan.FromSeconds(1.5), TimeSpan.FromSeconds(15));
        await trickle;
        Assert.Empty(server.MessageFiles("alice"));
        Assert.Contains(server.Logs.Lines, l => l.Contains("abandoned mid-DATA", StringComparison.Ordinal) && l.Contains("DATA time limit reached", StringComparison.Ordinal));
    }

    private static async Task<Transcript> ConnectWhenFreeAsync(TestServer server)
    {
        // The slot is given back when the server has finished closing, just after the client sees the close.
        for (var attempt = 0; ; attempt++)
        {
            var c = await server.ConnectLmtpAsync();
            var line = await c.ReadLineAsync();
            if (line is not null && line.StartsWith("220 ", StringComparison.Ordinal)) return c;
            await c.DisposeAsync();
            Assert.True(attempt < 50, "no LMTP slot came free");
            await Task.Delay(100);
        }
    }
}
