using MailKit.Net.Pop3;
using MailKit.Security;
using Restante.Tests.Infrastructure;
using Restante.Tests.Tls;

namespace Restante.Tests.Interop;

/// <summary>
/// Real clients over real TLS, trusting the server's development certificate (DATA/tls/cert.pem,
/// issued for localhost, 127.0.0.1 and ::1) and verifying it: openssl, curl, Python's poplib, MailKit.
/// </summary>
public class TlsClientTests
{
    private const string Stored = "From: a@example.com\nSubject: tls\n\n.dot line\nbody\n";
    private const string OnTheWire = "From: a@example.com\r\nSubject: tls\r\n\r\n.dot line\r\nbody\r\n";

    private static async Task<TestServer> ServerAsync()
    {
        var server = await TestServer.StartAsync(configureServer: o => o.Pop3s = ["127.0.0.1:0"]);
        server.AddUser("alice", "secret");
        server.Deliver("alice", Stored);
        return server;
    }

    private static int Pop3sPort(TestServer server) => server.Server.Pop3sEndPoints[0].Port;

    [Fact]
    public async Task Openssl_s_client_starttls_pop3_logs_in()
    {
        await using var server = await ServerAsync();
        var (exit, output) = await Processes.RunAsync("openssl", "CAPA\nUSER alice\nPASS secret\nSTAT\nQUIT\n",
            "s_client", "-starttls", "pop3", "-crlf", "-ign_eof", "-connect", $"127.0.0.1:{server.Port}",
            "-CAfile", server.CertificatePath, "-verify_return_error", "-verify_hostname", "localhost");
        Assert.True(exit == 0, output);
        Assert.Contains("Verify return code: 0 (ok)", output, StringComparison.Ordinal);
        Assert.Contains("+OK Logged in, 1 messages", output, StringComparison.Ordinal);
        Assert.Contains("+OK 1 ", output, StringComparison.Ordinal);
        Assert.Contains("+OK Logging out.", output, StringComparison.Ordinal);
    }

    [OpensslTls11Fact]
    public async Task Openssl_offering_only_tls_1_1_is_refused_by_the_server()
    {
        await using var server = await ServerAsync();
        // SECLEVEL=0 so the client really offers TLS 1.1 ciphers: the refusal must come from the server.
        var (exit, output) = await Processes.RunAsync("openssl", "",
            "s_client", "-tls1_1", "-cipher", "DEFAULT@SECLEVEL=0", "-connect", $"127.0.0.1:{Pop3sPort(server)}");
        Assert.NotEqual(0, exit);
        Assert.DoesNotContain("no protocols available", output, StringComparison.Ordinal);
        Assert.Contains("alert protocol version", output, StringComparison.Ordinal);
        Assert.Contains(server.Logs.Lines, l => l.Contains("TLS handshake with", StringComparison.Ordinal) && l.Contains("unsupported protocol", StringComparison.Ordinal));
    }

    [Fact]
    public async Task Curl_ssl_reqd_downloads_over_stls()
    {
        await using var server = await ServerAsync();
        var output = Path.Combine(server.Data.Path, "curl.out");
        var (exit, log) = await Processes.RunAsync("curl", null, "-sS", "--max-time", "20", "--ssl-reqd", "--cacert", server.CertificatePath,
            "-o", output, $"pop3://alice:secret@127.0.0.1:{server.Port}/1");
        Assert.True(exit == 0, log);
        Assert.Equal(OnTheWire, await File.ReadAllTextAsync(output));
        Assert.Contains(server.Logs.Lines, l => l.Contains("TLS established", StringComparison.Ordinal));
    }

    [Fact]
    public async Task Curl_pop3s_lists_over_implicit_tls()
    {
        await using var server = await ServerAsync();
        var (exit, log) = await Processes.RunAsync("curl", null, "-sS", "--max-time", "20", "--cacert", server.CertificatePath,
            $"pop3s://alice:secret@localhost:{Pop3sPort(server)}/");
        Assert.True(exit == 0, log);
        Assert.Equal($"1 {OnTheWire.Length}\r\n", log);
    }

    [Fact]
    public async Task Curl_refuses_the_certificate_when_not_told_to_trust_it()
    {
        await using var server = await ServerAsync();
        var (exit, _) = await Processes.RunAsync("curl", null, "-sS", "--max-time", "20", $"pop3s://alice:secret@127.0.0.1:{Pop3sPort(server)}/");
        Assert.NotEqual(0, exit);
        // -k: the encrypted connection itself works.
        var (insecure, log) = await Processes.RunAsync("curl", null, "-sS", "-k", "--max-time", "20", $"pop3s://alice:secret@127.0.0.1:{Pop3sPort(server)}/");
        Assert.True(insecure == 0, log);
    }

    [Fact]
    public async Task Python_poplib_pop3_ssl_and_stls_verify_and_retrieve()
    {
        await using var server = await ServerAsync();
        var script = $$"""
            import poplib, ssl, sys
            context = ssl.create_default_context(cafile=sys.argv[1])
            p = poplib.POP3_SSL('127.0.0.1', {{Pop3sPort(server)}}, context=context, timeout=20)
            p.user('alice'); p.pass_('secret')
            resp, lines, octets = p.retr(1)
            print('pop3s', p.sock.version(), b'|'.join(lines).decode())
            p.quit()
            p = poplib.POP3('127.0.0.1', {{server.Port}}, timeout=20)
            assert 'STLS' in p.capa(), p.capa()
            p.stls(context)
            assert 'STLS' not in p.capa()
            p.user('alice'); p.pass_('secret')
            print('stls', p.sock.version(), p.stat())
            p.quit()
            """;
        var (exit, output) = await Processes.RunAsync("python3", null, "-c", script, server.CertificatePath);
        Assert.True(exit == 0, output);
        Assert.Matches(@"pop3s TLSv1\.[23] From: a@example.com\|Subject: tls\|\|\.dot line\|body", output);
        Assert.Matches(@"stls TLSv1\.[23] \(1, \d+\)", output);
    }

    [Theory]
    [InlineData(SecureSocketOptions.StartTls)]
    [InlineData(SecureSocketOptions.SslOnConnect)]
    public async Task MailKit_logs_in_over_tls(SecureSocketOptions security)
    {
        await using var server = await ServerAsync();
        var port = security == SecureSocketOptions.SslOnConnect ? Pop3sPort(server) : server.Port;
        using var client = new Pop3Client();
        client.ServerCertificateValidationCallback = server.TrustServerCertificate;
        await client.ConnectAsync("127.0.0.1", port, security);
        Assert.True(client.IsSecure);
        await client.AuthenticateAsync("alice", "secret");
        Assert.Equal(1, client.Count);
        var message = await client.GetMessageAsync(0);
        Assert.Equal("tls", message.Subject);
        await client.DisconnectAsync(quit: true);
    }

    [Fact]
    public async Task MailKit_refuses_an_untrusted_certificate()
    {
        await using var server = await ServerAsync();
        using var client = new Pop3Client();
        await Assert.ThrowsAsync<SslHandshakeException>(() => client.ConnectAsync("127.0.0.1", Pop3sPort(server), SecureSocketOptions.SslOnConnect));
        // The failed handshake cost the server nothing.
        await using var c = await server.ConnectAsync();
        await c.ExpectAsync("+OK");
    }
}
