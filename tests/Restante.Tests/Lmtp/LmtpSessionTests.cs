using System.Text;
using Restante.Tests.Infrastructure;

namespace Restante.Tests.Lmtp;

/// <summary>LMTP conversations over a real socket, asserting exact reply codes (RFC 2033, RFC 5321, RFC 3463).</summary>
public class LmtpSessionTests
{
    private static async Task<TestServer> StartAsync(Action<Restante.Hosting.RestanteOptions>? options = null)
    {
        var server = await TestServer.StartAsync(configureServer: options);
        server.AddUser("alice", "secret");
        server.AddUser("bob", "secret");
        return server;
    }

    [Fact]
    public async Task Greeting_and_LHLO_announce_the_extensions()
    {
        await using var server = await StartAsync();
        await using var c = await server.ConnectLmtpAsync();
        Assert.Equal("220 test.example LMTP Restante ready", await c.ReadLineAsync());
        await c.SendAsync("LHLO client.example");
        Assert.Equal(
            ["250-test.example", "250-PIPELINING", "250-ENHANCEDSTATUSCODES", "250-8BITMIME", "250 SIZE 52428800"],
            await Lmtp.ReadReplyAsync(c));
    }

    [Fact]
    public async Task A_message_reaches_new_with_trace_headers_and_exact_sizes()
    {
        await using var server = await StartAsync();
        var (c, _) = await Lmtp.GreetAsync(server);
        await using var _c = c;
        await Lmtp.SendMessageAsync(c, "sender@example.org", Lmtp.Message + ".leading dot\r\n", "alice@example.com");
        var reply = await c.ExpectAsync("250 2.0.0 <alice@example.com> Delivered as ");

        var file = Assert.Single(Lmtp.Files(Path.Combine(server.MaildirOf("alice"), "new")));
        Assert.Empty(Lmtp.Files(Path.Combine(server.MaildirOf("alice"), "tmp")));
        var bytes = await File.ReadAllBytesAsync(file);
        var text = Encoding.ASCII.GetString(bytes);
        Assert.StartsWith("Return-Path: <sender@example.org>\r\nDelivered-To: alice@example.com\r\nReceived: from client.example ([127.0.0.1])\r\n\tby test.example (Restante) with LMTP id ", text);
        // Stored with CRLF line ends (as Dovecot's mail_save_crlf) and the dot-stuffing removed.
        Assert.EndsWith("\r\nFrom: sender@example.org\r\nSubject: hello\r\nMessage-ID: <m1@example.org>\r\n\r\nbody line\r\n.leading dot\r\n", text);
        var name = Path.GetFileName(file);
        // S = W: the file is its own POP3 size. No P=: the dot line needs stuffing, so it is not in wire form.
        Assert.EndsWith($",S={bytes.Length},W={bytes.Length}", name);
        Assert.Contains(name.Split(',')[0], reply);
    }

    [Fact]
    public async Task Pipelined_commands_get_their_replies_in_order_and_one_reply_per_recipient()
    {
        await using var server = await StartAsync();
        await using var c = await server.ConnectLmtpAsync();
        await c.ExpectAsync("220 ");
        // RFC 2920: the whole transaction up to DATA in one write.
        await c.SendRawAsync(Encoding.ASCII.GetBytes(
            "LHLO client.example\r\nMAIL FROM:<s@example.org>\r\nRCPT TO:<alice>\r\nRCPT TO:<nobody@example.com>\r\nRCPT TO:<bob@example.com>\r\nDATA\r\n"));
        await Lmtp.ReadReplyAsync(c);
        await c.ExpectAsync("250 2.1.0 <s@example.org> Sender ok");
        await c.ExpectAsync("250 2.1.5 <alice> Recipient ok");
        await c.ExpectAsync("550 5.1.1 <nobody@example.com> User unknown");
        await c.ExpectAsync("250 2.1.5 <bob@example.com> Recipient ok");
        await c.ExpectAsync("354 ");
        await c.SendRawAsync(Encoding.ASCII.GetBytes(Lmtp.Data(Lmtp.Message) + "QUIT\r\n"));
        // RFC 2033 §4.2: one reply per accepted recipient, in RCPT order.
        await c.ExpectAsync("250 2.0.0 <alice> Delivered as ");
        await c.ExpectAsync("250 2.0.0 <bob@example.com> Delivered as ");
        await c.ExpectAsync("221 2.0.0");
        Assert.Single(server.MessageFiles("alice"));
        Assert.Single(server.MessageFiles("bob"));
        Assert.Contains("Delivered-To: bob@example.com\r\n", await File.ReadAllTextAsync(server.MessageFiles("bob")[0]));
    }

    [Fact]
    public async Task Foreign_domains_are_refused_when_local_domains_are_configured()
    {
        await using var server = await StartAsync(o => o.LocalDomains = ["example.com"]);
        var (c, _) = await Lmtp.GreetAsync(server);
        await using var _c = c;
        await c.SendAsync("MAIL FROM:<>");
        await c.ExpectAsync("250 2.1.0 <> Sender ok");
        await c.SendAsync("RCPT TO:<alice@elsewhere.org>");
        await c.ExpectAsync("550 5.7.1 <alice@elsewhere.org> Relay access denied");
        await c.SendAsync("RCPT TO:<Alice@EXAMPLE.com>");
        await c.ExpectAsync("250 2.1.5");
        await c.SendAsync("RCPT TO:<alice+lists@example.com>");
        await c.ExpectAsync("250 2.1.5");
        await c.SendAsync("RCPT TO:<alice>");
        await c.ExpectAsync("250 2.1.5");
    }

    [Fact]
    public async Task Over_quota_is_refused_for_that_recipient_only()
    {
        await using var server = await TestServer.StartAsync();
        server.AddUser("alice", "secret");
        File.AppendAllText(server.PasswdPath, "bob:{PLAIN}secret::::::userdb_quota_rule=*:storage=1k\n");
        var (c, _) = await Lmtp.GreetAsync(server);
        await using var _c = c;
        var big = Lmtp.Message + new string('x', 70) + "\r\n" + string.Concat(Enumerable.Repeat(new string('y', 70) + "\r\n", 20));
        await Lmtp.SendMessageAsync(c, "s@example.org", big, "alice", "bob");
        await c.ExpectAsync("250 2.0.0 <alice> Delivered as ");
        await c.ExpectAsync("552 5.2.2 <bob> Mailbox is full");
        Assert.Single(server.MessageFiles("alice"));
        Assert.Empty(server.MessageFiles("bob"));

        // Now bob is at his limit's doorstep: a small message fits, and after it RCPT itself says so.
        server.Deliver("bob", new string('z', 1024));
        await c.SendAsync("MAIL FROM:<s@example.org>");
        await c.ExpectAsync("250");
        await c.SendAsync("RCPT TO:<bob>");
        await c.ExpectAsync("552 5.2.2 <bob> Mailbox is full");
    }

    [Fact]
    public async Task SIZE_over_the_maximum_is_refused_at_MAIL_and_a_larger_DATA_after_the_dot()
    {
        await using var server = await StartAsync(o => o.MaxMessageSize = "1k");
        var (c, lhlo) = await Lmtp.GreetAsync(server);
        await using var _c = c;
        Assert.Equal("250 SIZE 1024", lhlo[^1]);
        await c.SendAsync("MAIL FROM:<s@example.org> SIZE=1025");
        await c.ExpectAsync("552 5.3.4 ");
        await c.SendAsync("MAIL FROM:<s@example.org> SIZE=100 BODY=8BITMIME");
        await c.ExpectAsync("250 2.1.0");
        await c.SendAsync("RCPT TO:<alice>");
        await c.ExpectAsync("250");
        await c.SendAsync("RCPT TO:<bob>");
        await c.ExpectAsync("250");
        await c.SendAsync("DATA");
        await c.ExpectAsync("354");
        await c.SendRawAsync(Encoding.ASCII.GetBytes(Lmtp.Data(string.Concat(Enumerable.Repeat(new string('a', 98) + "\r\n", 20)))));
        await c.ExpectAsync("552 5.3.4 Message size exceeds fixed maximum message size");
        await c.ExpectAsync("552 5.3.4 Message size exceeds fixed maximum message size");
        await c.SendAsync("NOOP");
        await c.ExpectAsync("250 2.0.0");
        Assert.Empty(server.MessageFiles("alice"));
        Assert.Empty(server.MessageFiles("bob"));
    }

    [Fact]
    public async Task Unknown_MAIL_parameters_and_bad_syntax_get_precise_codes()
    {
        await using var server = await StartAsync();
        var (c, _) = await Lmtp.GreetAsync(server);
        await using var _c = c;
        await c.SendAsync("MAIL FROM:<s@example.org> SMTPUTF8");
        await c.ExpectAsync("555 5.5.4 Unsupported parameter SMTPUTF8");
        await c.SendAsync("MAIL FROM:<s@example.org> BODY=BINARYMIME");
        await c.ExpectAsync("501 5.5.4");
        await c.SendAsync("MAIL TO:<s@example.org>");
        await c.ExpectAsync("501 5.5.4");
        await c.SendAsync("MAIL FROM:<unterminated");
        await c.ExpectAsync("501 5.5.4");
        await c.SendAsync("MAIL FROM: <s@example.org>");
        await c.ExpectAsync("250 2.1.0");
        await c.SendAsync("RCPT TO:<>");
        await c.ExpectAsync("501 5.1.3");
    }

    [Fact]
    public async Task Commands_out_of_order_get_503()
    {
        await using var server = await StartAsync();
        await using var c = await server.ConnectLmtpAsync();
        await c.ExpectAsync("220 ");
        await c.SendAsync("MAIL FROM:<s@example.org>");
        await c.ExpectAsync("503 5.5.1 Send LHLO first");
        await c.SendAsync("EHLO client.example");
        await c.ExpectAsync("500 5.5.1 This is LMTP: use LHLO");
        await c.SendAsync("LHLO client.example");
        await Lmtp.ReadReplyAsync(c);
        await c.SendAsync("RCPT TO:<alice>");
        await c.ExpectAsync("503 5.5.1 Need MAIL command");
        await c.SendAsync("DATA");
        await c.ExpectAsync("503 5.5.1 Need MAIL command");
        await c.SendAsync("MAIL FROM:<s@example.org>");
        await c.ExpectAsync("250");
        await c.SendAsync("MAIL FROM:<s@example.org>");
        await c.ExpectAsync("503 5.5.1 Nested MAIL command");
        await c.SendAsync("RCPT TO:<nobody>");
        await c.ExpectAsync("550 5.1.1");
        // RFC 2033 §4.2: no successful RCPT, so DATA fails with 503.
        await c.SendAsync("DATA");
        await c.ExpectAsync("503 5.5.1 No valid recipients");
        await c.SendAsync("RCPT TO:<alice>");
        await c.ExpectAsync("250");
        await c.SendAsync("RSET");
        await c.ExpectAsync("250 2.0.0");
        await c.SendAsync("DATA");
        await c.ExpectAsync("503 5.5.1 Need MAIL command");
        await c.SendAsync("VRFY alice");
        await c.ExpectAsync("252 2.5.0");
        await c.SendAsync("FOO");
        await c.ExpectAsync("500 5.5.1 Command unrecognized");
        await c.SendAsync("QUIT");
        await c.ExpectAsync("221 2.0.0");
        Assert.True(await c.IsClosedAsync());
    }

    [Fact]
    public async Task A_1001_octet_command_line_gets_500_5_5_2_and_the_session_goes_on()
    {
        await using var server = await StartAsync();
        var (c, _) = await Lmtp.GreetAsync(server);
        await using var _c = c;
        await c.SendAsync("NOOP " + new string('x', 999 - 5));   // 999 + CRLF = 1001 octets
        await c.ExpectAsync("500 5.5.2 Line too long");
        await c.SendAsync("NOOP " + new string('x', 998 - 5));   // exactly 1000 octets: fine
        await c.ExpectAsync("250 2.0.0");
    }

    [Fact]
    public async Task A_1001_octet_line_in_DATA_refuses_the_whole_message_after_the_dot()
    {
        await using var server = await StartAsync();
        var (c, _) = await Lmtp.GreetAsync(server);
        await using var _c = c;
        var message = "Subject: long\r\n\r\n" + new string('a', 998) + "\r\n" + new string('b', 999) + "\r\nafter\r\n";
        await Lmtp.SendMessageAsync(c, "s@example.org", message, "alice", "bob");
        await c.ExpectAsync("554 5.6.0 ");
        await c.ExpectAsync("554 5.6.0 ");
        Assert.Empty(server.MessageFiles("alice"));
        Assert.Empty(Lmtp.Files(Path.Combine(server.MaildirOf("alice"), "tmp")));

        // A line of exactly 1000 octets (998 + CRLF) is delivered whole.
        await Lmtp.SendMessageAsync(c, "s@example.org", "Subject: ok\r\n\r\n" + new string('a', 998) + "\r\n", "alice");
        await c.ExpectAsync("250 2.0.0");
        Assert.Contains(new string('a', 998) + "\r\n", await File.ReadAllTextAsync(Assert.Single(server.MessageFiles("alice"))));
    }

    [Fact]
    public async Task A_disconnect_mid_DATA_leaves_nothing_anywhere()
    {
        await using var server = await StartAsync();
        var (c, _) = await Lmtp.GreetAsync(server);
        await c.SendAsync("MAIL FROM:<s@example.org>");
        await c.ExpectAsync("250");
        await c.SendAsync("RCPT TO:<alice>");
        await c.ExpectAsync("250");
        await c.SendAsync("DATA");
        await c.ExpectAsync("354");
        await c.SendRawAsync(Encoding.ASCII.GetBytes("Subject: cut\r\n\r\n" + string.Concat(Enumerable.Repeat("line\r\n", 5000))));
        c.Abort();
        await WaitUntilAsync(() => server.Server.ActiveSessions == 0 && server.Logs.Lines.Any(l => l.Contains("abandoned mid-DATA", StringComparison.Ordinal)));

        Assert.Empty(server.MessageFiles("alice"));
        Assert.Empty(Lmtp.Files(Path.Combine(server.MaildirOf("alice"), "tmp")));
        Assert.Empty(Lmtp.Files(Path.Combine(server.Data.Path, "spool")));
    }

    [Fact]
    public async Task Bare_LF_dot_does_not_end_the_data()
    {
        await using var server = await StartAsync();
        var (c, _) = await Lmtp.GreetAsync(server);
        await using var _c = c;
        await c.SendAsync("MAIL FROM:<s@example.org>");
        await c.ExpectAsync("250");
        await c.SendAsync("RCPT TO:<alice>");
        await c.ExpectAsync("250");
        await c.SendAsync("DATA");
        await c.ExpectAsync("354");
        // "\n.\n" is not the end (RFC 5321 §4.1.1.4 wants CRLF.CRLF): no second transaction is smuggled in.
        await c.SendRawAsync(Encoding.ASCII.GetBytes("Subject: a\r\n\r\nfirst\n.\nMAIL FROM:<evil@example.org>\r\n.\r\n"));
        await c.ExpectAsync("250 2.0.0");
        var text = await File.ReadAllTextAsync(Assert.Single(server.MessageFiles("alice")));
        Assert.EndsWith("\r\nfirst\r\n\r\nMAIL FROM:<evil@example.org>\r\n", text);
    }

    [Fact]
    public async Task Delivery_into_an_open_mailbox_is_not_in_that_session_and_is_in_the_next()
    {
        await using var server = await StartAsync();
        server.Deliver("alice", "Subject: old\n\nold\n", 1_700_000_000);
        await using var pop = await server.LoginAsync("alice", "secret");
        await pop.SendAsync("STAT");
        await pop.ExpectAsync("+OK 1 ");

        var (c, _) = await Lmtp.GreetAsync(server);
        await using var _c = c;
        await Lmtp.SendMessageAsync(c, "s@example.org", Lmtp.Message, "alice");
        // Delivery never waits for the POP3 lock.
        await c.ExpectAsync("250 2.0.0 <alice> Delivered");

        await pop.SendAsync("STAT");
        await pop.ExpectAsync("+OK 1 ");
        await pop.SendAsync("QUIT");
        await pop.ExpectAsync("+OK");
        // The lock is released before the connection closes: wait for the close, then log in again.
        Assert.True(await pop.IsClosedAsync());

        await using var next = await server.LoginAsync("alice", "secret");
        await next.SendAsync("STAT");
        await next.ExpectAsync("+OK 2 ");
        await next.SendAsync("RETR 2");
        await next.ExpectAsync("+OK");
        var body = await next.ReadMultiLineAsync();
        Assert.Equal("Return-Path: <s@example.org>", body[0]);
        Assert.Equal("Delivered-To: alice", body[1]);
        Assert.Equal("body line", body[^1]);
    }

    [Fact]
    public async Task SMTP_speaks_EHLO_and_gives_one_reply_after_DATA()
    {
        await using var server = await StartAsync();
        await using var c = await server.ConnectSmtpAsync();
        Assert.Equal("220 test.example ESMTP Restante ready", await c.ReadLineAsync());
        await c.SendAsync("LHLO client.example");
        await c.ExpectAsync("500 5.5.1 This is SMTP: use EHLO");
        await c.SendAsync("EHLO client.example");
        Assert.Contains("250-PIPELINING", await Lmtp.ReadReplyAsync(c));
        await Lmtp.SendMessageAsync(c, "s@example.org", Lmtp.Message, "alice@example.com", "bob@example.com");
        await c.ExpectAsync("250 2.0.0 Ok: queued as ");
        await c.SendAsync("NOOP");
        await c.ExpectAsync("250 2.0.0 Ok");
        Assert.Contains("with ESMTP id", await File.ReadAllTextAsync(Assert.Single(server.MessageFiles("alice"))));
        Assert.Single(server.MessageFiles("bob"));
        await c.SendAsync("HELO client.example");
        Assert.Equal(["250 test.example"], await Lmtp.ReadReplyAsync(c));
    }

    [Fact]
    public async Task Too_many_bad_commands_close_the_connection_with_421()
    {
        await using var server = await StartAsync();
        var (c, _) = await Lmtp.GreetAsync(server);
        await using var _c = c;
        for (var i = 0; i < 9; i++)
        {
            await c.SendAsync("BOGUS");
            await c.ExpectAsync("500 5.5.1");
        }
        await c.SendAsync("BOGUS");
        await c.ExpectAsync("500 5.5.1");
        await c.ExpectAsync("421 4.7.0");
        Assert.True(await c.IsClosedAsync());
    }

    [Fact]
    public async Task The_delivery_log_has_one_line_per_copy_and_never_the_body()
    {
        await using var server = await StartAsync();
        var (c, _) = await Lmtp.GreetAsync(server);
        await using var _c = c;
        await Lmtp.SendMessageAsync(c, "s@example.org", "Message-ID: <log-test@example.org>\r\n\r\nsecret body text\r\n", "alice");
        await c.ExpectAsync("250 2.0.0");
        var line = Assert.Single(server.Logs.Lines, l => l.Contains("status=Delivered", StringComparison.Ordinal));
        Assert.Contains("from=<s@example.org> to=<alice> user=alice size=", line);
        Assert.Contains("message-id=<log-test@example.org>", line);
        Assert.DoesNotContain(server.Logs.Lines, l => l.Contains("secret body text", StringComparison.Ordinal));
    }

    internal static async Task WaitUntilAsync(Func<bool> condition)
    {
        var deadline = DateTime.UtcNow.AddSeconds(15);
        while (!condition())
        {
            Assert.True(DateTime.UtcNow < deadline, "Timed out waiting.");
            await Task.Delay(20);
        }
    }
}
