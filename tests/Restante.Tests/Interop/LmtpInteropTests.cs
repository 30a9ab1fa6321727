using System.Net.Sockets;
using MailKit.Net.Pop3;
using MailKit.Net.Smtp;
using MimeKit;
using Restante.Tests.Infrastructure;

namespace Restante.Tests.Interop;

/// <summary>Real delivery clients as installed on the machine: Python's smtplib.LMTP, swaks, and MailKit's SmtpClient.</summary>
public class LmtpInteropTests
{
    private static async Task<TestServer> StartAsync(Action<Restante.Hosting.RestanteOptions>? options = null)
    {
        var server = await TestServer.StartAsync(configureServer: options);
        server.AddUser("alice", "secret");
        return server;
    }

    [Fact]
    public async Task Python_smtplib_LMTP_delivers_and_poplib_fetches()
    {
        await using var server = await StartAsync();
        var script = $$"""
            import smtplib, poplib
            msg = b"From: app@example.org\r\nSubject: via smtplib\r\n\r\n.dot line\r\n\xc3\xa9t\xc3\xa9\r\n"
            with smtplib.LMTP('127.0.0.1', {{server.LmtpEndPoint.Port}}) as lmtp:
                refused = lmtp.sendmail('app@example.org', ['alice@example.com'], msg)
                assert refused == {}, refused
            p = poplib.POP3('127.0.0.1', {{server.Port}}, timeout=20)
            p.user('alice'); p.pass_('secret')
            resp, lines, octets = p.retr(1)
            p.quit()
            body = b'\r\n'.join(lines)
            assert body.startswith(b'Return-Path: <app@example.org>\r\nDelivered-To: alice@example.com\r\n'), body
            assert body.endswith(b'\r\n\r\n.dot line\r\n\xc3\xa9t\xc3\xa9'), body
            print('ok')
            """;
        var (exit, output) = await ExternalClientTests.RunAsync("python3", "-c", script);
        Assert.True(exit == 0, output);
    }

    [Fact]
    public async Task Python_smtplib_LMTP_over_a_unix_socket()
    {
        using var sockets = new TempDirectory();
        var path = Path.Combine(sockets.Path, "lmtp.sock");
        // A socket file left by a dead server is replaced.
        using (var stale = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified))
            stale.Bind(new UnixDomainSocketEndPoint(path));
        await using var server = await StartAsync(o => o.Lmtp = ["unix:" + path]);
        if (!OperatingSystem.IsWindows())
            Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.GroupRead | UnixFileMode.GroupWrite, File.GetUnixFileMode(path));
        var script = $$"""
            import smtplib
            with smtplib.LMTP('{{path}}') as lmtp:
                lmtp.sendmail('app@example.org', ['alice'], b"Subject: unix\r\n\r\nhi\r\n")
            """;
        var (exit, output) = await ExternalClientTests.RunAsync("python3", "-c", script);
        Assert.True(exit == 0, output);
        Assert.Contains("Received: from ", await File.ReadAllTextAsync(Assert.Single(server.MessageFiles("alice"))));
        await server.Server.StopAsync();
        Assert.False(File.Exists(path));
    }

    [Fact]
    public async Task Swaks_gets_one_reply_per_recipient_over_LMTP()
    {
        await using var server = await StartAsync();
        File.AppendAllText(server.PasswdPath, "bob:{PLAIN}secret::::::userdb_quota_rule=*:bytes=100\n");
        var (_, output) = await ExternalClientTests.RunAsync("swaks", "--protocol", "LMTP", "--server", $"127.0.0.1:{server.LmtpEndPoint.Port}",
            "--from", "app@example.org", "--to", "alice@example.com,bob@example.com,nobody@example.com", "--pipeline",
            "--header", "Subject: swaks", "--body", "hello from swaks");
        Assert.Contains("550 5.1.1 <nobody@example.com> User unknown", output);
        Assert.Contains("250 2.0.0 <alice@example.com> Delivered as ", output);
        Assert.Contains("552 5.2.2 <bob@example.com> Mailbox is full", output);
        Assert.Contains("hello from swaks", await File.ReadAllTextAsync(Assert.Single(server.MessageFiles("alice"))));
        Assert.Empty(server.MessageFiles("bob"));
    }

    [Fact]
    public async Task MailKit_sends_over_SMTP_and_fetches_over_POP3()
    {
        await using var server = await StartAsync();
        var message = new MimeMessage();
        message.From.Add(MailboxAddress.Parse("app@example.org"));
        message.To.Add(MailboxAddress.Parse("alice@example.com"));
        message.Subject = "Welcome, ünïcödé";
        message.Body = new TextPart("plain") { Text = "Your account is ready.\n.hidden dot\n" };

        using (var smtp = new SmtpClient())
        {
            await smtp.ConnectAsync("127.0.0.1", server.SmtpEndPoint.Port, MailKit.Security.SecureSocketOptions.None);
            Assert.True(smtp.Capabilities.HasFlag(SmtpCapabilities.Pipelining));
            Assert.True(smtp.Capabilities.HasFlag(SmtpCapabilities.EightBitMime));
            Assert.Equal(50u << 20, smtp.MaxSize);
            var reply = await smtp.SendAsync(message);
            Assert.Contains("Ok: queued as", reply, StringComparison.Ordinal);
            await smtp.DisconnectAsync(true);
        }

        using var pop = new Pop3Client();
        await pop.ConnectAsync("127.0.0.1", server.Port, MailKit.Security.SecureSocketOptions.None);
        await pop.AuthenticateAsync("alice", "secret");
        var fetched = await pop.GetMessageAsync(0);
        Assert.Equal("Welcome, ünïcödé", fetched.Subject);
        Assert.Equal("Your account is ready.\n.hidden dot\n", fetched.TextBody!.Replace("\r\n", "\n", StringComparison.Ordinal));
        Assert.Equal("<app@example.org>", fetched.Headers["Return-Path"]);
        await pop.DisconnectAsync(true);
    }

    [Fact]
    public async Task MailKit_is_refused_for_unknown_users_over_SMTP()
    {
        await using var server = await StartAsync();
        var message = new MimeMessage();
        message.From.Add(MailboxAddress.Parse("app@example.org"));
        message.To.Add(MailboxAddress.Parse("nobody@example.com"));
        message.Body = new TextPart("plain") { Text = "x" };
        using var smtp = new SmtpClient();
        await smtp.ConnectAsync("127.0.0.1", server.SmtpEndPoint.Port, MailKit.Security.SecureSocketOptions.None);
        var error = await Assert.ThrowsAsync<SmtpCommandException>(() => smtp.SendAsync(message));
        Assert.Equal(SmtpErrorCode.RecipientNotAccepted, error.ErrorCode);
        Assert.Equal(SmtpStatusCode.MailboxUnavailable, error.StatusCode);
    }
}
