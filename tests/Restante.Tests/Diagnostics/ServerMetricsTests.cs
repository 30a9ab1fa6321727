using System.Net;
using System.Net.Sockets;
using Restante.Auth;
using Restante.Networking;
using Restante.Tests.Infrastructure;

namespace Restante.Tests.Diagnostics;

/// <summary>The instruments of <see cref="Restante.Diagnostics.RestanteMetrics"/>, read by a listener on one in-process server.</summary>
public class ServerMetricsTests
{
    private static async Task<Transcript> LoginAsync(TestServer server, string user, string password, string expect = "+OK")
    {
        var c = await server.ConnectAsync();
        await c.ExpectAsync("+OK");
        await c.SendAsync($"USER {user}");
        await c.ExpectAsync("+OK");
        await c.SendAsync($"PASS {password}");
        await c.ExpectAsync(expect);
        return c;
    }

    [Fact]
    public async Task A_locked_mailbox_counts_as_a_lock_refusal_and_an_in_use_login()
    {
        await using var server = await TestServer.StartAsync();
        using var metrics = new MetricRecorder(server.Server.Metrics.Meter);
        server.AddUser("alice", "secret");
        server.Deliver("alice", "Subject: x\n\nbody\n");
        await using var first = await LoginAsync(server, "alice", "secret");
        await using var second = await LoginAsync(server, "alice", "secret", "-ERR [IN-USE]");

        Assert.Equal(1, metrics.Total("restante.pop3.lock_refusals"));
        Assert.Equal(1, metrics.Total("restante.pop3.logins", ("mechanism", "USER/PASS"), ("outcome", "in-use")));
        Assert.Equal(1, metrics.Total("restante.pop3.logins", ("mechanism", "USER/PASS"), ("outcome", "success")));
        Assert.Equal(1, metrics.Count("restante.pop3.login.duration", ("mechanism", "USER/PASS"), ("outcome", "success")));
        Assert.Equal(2, metrics.Observe("restante.pop3.sessions.active"));
    }

    [Fact]
    public async Task A_blocked_address_shows_in_the_gauge_and_its_logins_count_as_throttled()
    {
        await using var server = await TestServer.StartAsync(limits: new ConnectionLimitOptions { TrustLoopback = false },
            throttle: new LoginThrottleOptions { MaxFailuresPerIp = 2 });
        using var metrics = new MetricRecorder(server.Server.Metrics.Meter);
        server.AddUser("alice", "secret");
        Assert.Equal(0, metrics.Observe("restante.auth.throttled_addresses"));

        await using var c = await server.ConnectAsync();
        await c.ExpectAsync("+OK");
        for (var i = 0; i < 2; i++)
        {
            await c.SendAsync("USER alice");
            await c.ExpectAsync("+OK");
            await c.SendAsync("PASS wrong");
            await c.ExpectAsync("-ERR [AUTH]");
        }
        Assert.Equal(1, metrics.Observe("restante.auth.throttled_addresses"));
        await c.SendAsync("USER alice");
        await c.ExpectAsync("+OK");
        await c.SendAsync("PASS secret");
        await c.ExpectAsync("-ERR [SYS/TEMP]");

        Assert.Equal(2, metrics.Total("restante.pop3.logins", ("mechanism", "USER/PASS"), ("outcome", "failure")));
        Assert.Equal(1, metrics.Total("restante.pop3.logins", ("mechanism", "USER/PASS"), ("outcome", "throttled")));
        Assert.Equal(0, metrics.Total("restante.pop3.logins", ("mechanism", "USER/PASS"), ("outcome", "success")));
    }

    [Fact]
    public async Task Connections_over_the_limit_are_counted_per_protocol()
    {
        await using var server = await TestServer.StartAsync(limits: new ConnectionLimitOptions { MaxConnections = 1 });
        using var metrics = new MetricRecorder(server.Server.Metrics.Meter);
        await using var held = await server.ConnectAsync();
        await held.ExpectAsync("+OK");
        await using var refused = await server.ConnectAsync();
        await refused.ExpectAsync("-ERR [SYS/TEMP] Too many connections");
        await metrics.WaitForAsync(m => m.Total("restante.connections.refused", ("protocol", "pop3")) == 1);
        Assert.Equal(0, metrics.Total("restante.connections.refused", ("protocol", "lmtp")));
    }

    [Fact]
    public async Task The_hashing_gauge_reads_the_password_hashing_queue()
    {
        await using var server = await TestServer.StartAsync(p => p.PasswordHashWorkers = 1);
        using var metrics = new MetricRecorder(server.Server.Metrics.Meter);
        using var release = new ManualResetEventSlim();
        var running = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        // One hash holds the only worker; two more wait in the queue.
        var busy = server.Server.PasswordHashing.RunAsync(() => { running.TrySetResult(); release.Wait(); return 0; }, CancellationToken.None);
        await running.Task;
        var queued = new[]
        {
            server.Server.PasswordHashing.RunAsync(() => 1, CancellationToken.None),
            server.Server.PasswordHashing.RunAsync(() => 2, CancellationToken.None),
        };
        Assert.Equal(2, metrics.Observe("restante.auth.hashing.queue"));
        release.Set();
        await Task.WhenAll(queued.Append(busy));
        Assert.Equal(0, metrics.Observe("restante.auth.hashing.queue"));
    }

    [Fact]
    public async Task Sessions_end_by_reason_and_the_active_count_follows()
    {
        await using var server = await TestServer.StartAsync(p => p.LoginTimeout = TimeSpan.FromSeconds(1));
        using var metrics = new MetricRecorder(server.Server.Metrics.Meter);
        server.AddUser("alice", "secret");

        var quitting = await LoginAsync(server, "alice", "secret");
        var dropping = await server.ConnectAsync();
        await dropping.ExpectAsync("+OK");
        var idle = await server.ConnectAsync();
        await idle.ExpectAsync("+OK");
        Assert.Equal(3, metrics.Observe("restante.pop3.sessions.active"));

        await quitting.SendAsync("QUIT");
        await quitting.ExpectAsync("+OK");
        dropping.Abort();
        await metrics.WaitForAsync(m => m.Total("restante.pop3.sessions.ended", ("reason", "quit")) == 1
            && m.Total("restante.pop3.sessions.ended", ("reason", "peer-closed")) == 1);
        // The idle one never logs in: the login timer ends it.
        await metrics.WaitForAsync(m => m.Total("restante.pop3.sessions.ended", ("reason", "timeout")) == 1);
        Assert.Equal(0, metrics.Observe("restante.pop3.sessions.active"));
        await quitting.DisposeAsync();
        await idle.DisposeAsync();
        await dropping.DisposeAsync();
    }

    [Fact]
    public async Task Retr_records_its_time_and_the_octets_sent_and_top_only_the_octets()
    {
        await using var server = await TestServer.StartAsync();
        using var metrics = new MetricRecorder(server.Server.Metrics.Meter);
        server.AddUser("alice", "secret");
        const string message = "Subject: x\r\n\r\nline one\r\nline two\r\n";
        server.Deliver("alice", message);
        await using var c = await LoginAsync(server, "alice", "secret");
        await c.SendAsync("RETR 1");
        await c.ExpectAsync("+OK");
        await c.ReadMultiLineAsync();
        Assert.Equal(1, metrics.Count("restante.pop3.retr.duration"));
        Assert.Equal(message.Length, metrics.Total("restante.pop3.message.sent"));
        await c.SendAsync("TOP 1 0");
        await c.ExpectAsync("+OK");
        await c.ReadMultiLineAsync();
        Assert.Equal(1, metrics.Count("restante.pop3.retr.duration"));
        Assert.True(metrics.Total("restante.pop3.message.sent") > message.Length);
    }

    [Fact]
    public async Task Deliveries_count_per_recipient_by_protocol_and_outcome()
    {
        await using var server = await TestServer.StartAsync();
        using var metrics = new MetricRecorder(server.Server.Metrics.Meter);
        server.AddUser("alice", "secret");
        File.AppendAllText(server.PasswdPath, "bob:{PLAIN}secret::::::userdb_quota_rule=*:bytes=50\n");

        await using var lmtp = await Transcript.ConnectAsync(server.LmtpEndPoint);
        await lmtp.ExpectAsync("220 ");
        await lmtp.SendAsync("LHLO test.example");
        while ((await lmtp.ReadLineAsync())!.StartsWith("250-", StringComparison.Ordinal)) { }
        await lmtp.SendAsync("MAIL FROM:<x@example.org>");
        await lmtp.ExpectAsync("250 ");
        await lmtp.SendAsync("RCPT TO:<alice>");
        await lmtp.ExpectAsync("250 ");
        await lmtp.SendAsync("RCPT TO:<bob>");
        await lmtp.ExpectAsync("250 ");
        await lmtp.SendAsync("DATA");
        await lmtp.ExpectAsync("354 ");
        // Larger than bob's 50-octet quota once the trace headers are in front.
        await lmtp.SendAsync("Subject: two\r\n\r\n" + new string('x', 200) + "\r\n.");
        await lmtp.ExpectAsync("250 ");   // alice
        await lmtp.ExpectAsync("552 ");   // bob: RFC 3463 5.2.2 mailbox full

        Assert.Equal(1, metrics.Total("restante.deliveries", ("outcome", "delivered"), ("protocol", "lmtp")));
        Assert.Equal(1, metrics.Total("restante.deliveries", ("outcome", "over-quota"), ("protocol", "lmtp")));
        Assert.Equal(0, metrics.Total("restante.deliveries", ("outcome", "delivered"), ("protocol", "smtp")));
    }
}
