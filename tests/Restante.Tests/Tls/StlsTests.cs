using System.Security.Authentication;
using System.Text;
using Restante.Tests.Infrastructure;

namespace Restante.Tests.Tls;

/// <summary>STLS (RFC 2595) and POP3S (RFC 8314) against the in-process server, over real TLS.</summary>
public class StlsTests
{
    private static async Task<TestServer> ServerAsync(Action<Restante.Pop3.Pop3Options>? configure = null)
    {
        var server = await TestServer.StartAsync(configure, configureServer: o => o.Pop3s = ["127.0.0.1:0"]);
        server.AddUser("alice", "secret");
        server.Deliver("alice", "Subject: one\n\nbody\n");
        return server;
    }

    private static async Task<List<string>> CapaAsync(Transcript c)
    {
        await c.SendAsync("CAPA");
        await c.ExpectAsync("+OK");
        return await c.ReadMultiLineAsync();
    }

    [Fact]
    public async Task Stls_upgrades_the_connection_and_login_works_over_tls()
    {
        await using var server = await ServerAsync();
        await using var c = await server.ConnectAsync();
        await c.ExpectAsync("+OK");
        Assert.Contains("STLS", await CapaAsync(c));
        await c.SendAsync("STLS");
        Assert.Equal("+OK Begin TLS negotiation now.", await c.ReadLineAsync());
        await c.StartTlsAsync(server.TrustServerCertificate);
        Assert.True(c.Tls!.SslProtocol is SslProtocols.Tls12 or SslProtocols.Tls13);

        var capabilities = await CapaAsync(c);
        Assert.DoesNotContain("STLS", capabilities);
        Assert.Contains("USER", capabilities);
        await c.SendAsync("USER alice");
        await c.ExpectAsync("+OK");
        await c.SendAsync("PASS secret");
        await c.ExpectAsync("+OK Logged in, 1 messages");
        await c.SendAsync("RETR 1");
        await c.ExpectAsync("+OK");
        Assert.Equal(new[] { "Subject: one", "", "body" }, await c.ReadMultiLineAsync());
        await c.SendAsync("QUIT");
        await c.ExpectAsync("+OK");
        Assert.True(await c.IsClosedAsync());
    }

    [Fact]
    public async Task Commands_pipelined_after_stls_are_discarded_not_executed()
    {
        // CVE-2011-0411: a man in the middle appends commands to the client's STLS in the same packet.
        await using var server = await ServerAsync();
        await using var c = await server.ConnectAsync();
        await c.ExpectAsync("+OK");
        await c.SendRawAsync(Encoding.ASCII.GetBytes("STLS\r\nUSER evil\r\n"));
        Assert.Equal("+OK Begin TLS negotiation now.", await c.ReadLineAsync());
        // StartTlsAsync asserts nothing else arrived in the clear (no reply to USER evil).
        await c.StartTlsAsync(server.TrustServerCertificate);
        await c.SendAsync("PASS x");
        Assert.Equal("-ERR Send USER first.", await c.ReadLineAsync());
        Assert.DoesNotContain(server.Logs.Lines, l => l.Contains("USER evil", StringComparison.Ordinal));
        Assert.Contains(server.Logs.Lines, l => l.Contains("Discarded 11 octets sent in the clear after STLS", StringComparison.Ordinal));
    }

    [Fact]
    public async Task A_user_name_given_before_stls_is_forgotten()
    {
        await using var server = await ServerAsync();
        await using var c = await server.ConnectAsync();
        await c.ExpectAsync("+OK");
        await c.SendAsync("USER alice");
        await c.ExpectAsync("+OK");
        await c.SendAsync("STLS");
        await c.ExpectAsync("+OK Begin TLS");
        await c.StartTlsAsync(server.TrustServerCertificate);
        await c.SendAsync("PASS secret");
        Assert.Equal("-ERR Send USER first.", await c.ReadLineAsync());
    }

    [Fact]
    public async Task Stls_twice_is_refused_and_the_session_goes_on()
    {
        await using var server = await ServerAsync();
        await using var c = await server.ConnectAsync();
        await c.ExpectAsync("+OK");
        await c.SendAsync("STLS");
        await c.ExpectAsync("+OK Begin TLS");
        await c.StartTlsAsync(server.TrustServerCertificate);
        await c.SendAsync("STLS");
        Assert.Equal("-ERR TLS is already active.", await c.ReadLineAsync());
        await c.SendAsync("USER alice");
        await c.ExpectAsync("+OK");
        await c.SendAsync("PASS secret");
        await c.ExpectAsync("+OK Logged in");
    }

    [Fact]
    public async Task Stls_after_login_is_refused_and_not_announced()
    {
        await using var server = await ServerAsync();
        await using var c = await server.LoginAsync("alice", "secret");
        Assert.DoesNotContain("STLS", await CapaAsync(c));
        await c.SendAsync("STLS");
        Assert.Equal("-ERR Command not valid after login.", await c.ReadLineAsync());
        await c.SendAsync("STAT");
        await c.ExpectAsync("+OK 1 ");
    }

    [Fact]
    public async Task Stls_with_an_argument_is_refused()
    {
        await using var server = await ServerAsync();
        await using var c = await server.ConnectAsync();
        await c.ExpectAsync("+OK");
        await c.SendAsync("STLS now");
        Assert.Equal("-ERR STLS takes no arguments.", await c.ReadLineAsync());
        await c.SendAsync("NOOP");
        await c.ExpectAsync("-ERR Command not valid before login.");
    }

    [Fact]
    public async Task Without_tls_stls_is_refused_and_not_announced()
    {
        await using var server = await TestServer.StartAsync(configureServer: o => o.Tls = false);
        Assert.Null(server.Server.Certificates);
        Assert.False(Directory.Exists(Path.Combine(server.Data.Path, "tls")));
        await using var c = await server.ConnectAsync();
        await c.ExpectAsync("+OK");
        Assert.DoesNotContain("STLS", await CapaAsync(c));
        await c.SendAsync("STLS");
        Assert.Equal("-ERR TLS support isn't enabled.", await c.ReadLineAsync());
        await c.SendAsync("CAPA");
        await c.ExpectAsync("+OK");
    }

    [Fact]
    public async Task Pop3s_handshakes_before_the_greeting()
    {
        await using var server = await ServerAsync();
        await using var c = await Transcript.ConnectTlsAsync(server.Server.Pop3sEndPoints[0], server.TrustServerCertificate);
        await c.ExpectAsync("+OK Restante POP3 server ready. <");
        var capabilities = await CapaAsync(c);
        Assert.DoesNotContain("STLS", capabilities);
        Assert.Contains("USER", capabilities);
        await c.SendAsync("STLS");
        Assert.Equal("-ERR TLS is already active.", await c.ReadLineAsync());
        await c.SendAsync("USER alice");
        await c.ExpectAsync("+OK");
        await c.SendAsync("PASS secret");
        await c.ExpectAsync("+OK Logged in");
        Assert.Equal(capabilities, await CapaAsync(c));
    }

    [Fact]
    public async Task Garbage_instead_of_a_client_hello_closes_only_that_connection()
    {
        await using var server = await ServerAsync();
        server.AddUser("bob", "pw");
        await using var other = await server.LoginAsync("bob", "pw");

        await using var c = await server.ConnectAsync();
        await c.ExpectAsync("+OK");
        await c.SendAsync("STLS");
        await c.ExpectAsync("+OK Begin TLS");
        await c.SendRawAsync(Encoding.ASCII.GetBytes("USER alice\r\nPASS secret\r\n"));
        Assert.True(await c.IsClosedAsync());

        // The same on the POP3S port.
        await using var d = await Transcript.ConnectAsync(server.Server.Pop3sEndPoints[0]);
        await d.SendRawAsync(Encoding.ASCII.GetBytes("CAPA\r\n"));
        Assert.True(await d.IsClosedAsync());

        await other.SendAsync("STAT");
        await other.ExpectAsync("+OK 0 0");
        Assert.Contains(server.Logs.Lines, l => l.Contains("TLS handshake with", StringComparison.Ordinal) && l.Contains("failed", StringComparison.Ordinal));
        await using var fresh = await Transcript.ConnectTlsAsync(server.Server.Pop3sEndPoints[0], server.TrustServerCertificate);
        await fresh.ExpectAsync("+OK");
    }

    [Fact]
    public async Task An_abandoned_handshake_times_out_and_frees_the_session()
    {
        await using var server = await ServerAsync(o => o.LoginTimeout = TimeSpan.FromSeconds(1));
        await using var c = await server.ConnectAsync();
        await c.ExpectAsync("+OK");
        await c.SendAsync("STLS");
        await c.ExpectAsync("+OK Begin TLS");
        // Nothing more: no ClientHello. Implicit TLS too: connect and say nothing.
        await using var d = await Transcript.ConnectAsync(server.Server.Pop3sEndPoints[0]);
        var watch = System.Diagnostics.Stopwatch.StartNew();
        Assert.True(await c.IsClosedAsync());
        Assert.True(await d.IsClosedAsync());
        Assert.True(watch.Elapsed < TimeSpan.FromSeconds(10), $"closed after {watch.Elapsed}");
        for (var i = 0; i < 100 && server.Server.ActiveSessions > 0; i++) await Task.Delay(50);
        Assert.Equal(0, server.Server.ActiveSessions);
        Assert.Equal(2, server.Logs.Lines.Count(l => l.Contains("ended: TLS handshake timed out", StringComparison.Ordinal)));
    }

    [Fact]
    public async Task Tls_1_1_is_refused_by_an_SslStream_client_where_the_platform_allows_trying()
    {
        await using var server = await ServerAsync();
        await using var c = await Transcript.ConnectAsync(server.Server.Pop3sEndPoints[0]);
#pragma warning disable SYSLIB0039 // TLS 1.1 on purpose: it must be refused.
        var attempt = await Record.ExceptionAsync(() => c.StartTlsAsync(server.TrustServerCertificate, SslProtocols.Tls11));
#pragma warning restore SYSLIB0039
        Assert.NotNull(attempt);
        Assert.True(attempt is AuthenticationException or IOException, attempt.ToString());
    }
}
