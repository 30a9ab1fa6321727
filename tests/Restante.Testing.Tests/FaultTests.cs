using System.Diagnostics;
using System.Text;
using MailKit.Net.Pop3;

namespace Restante.Testing.Tests;

public sealed class FaultTests
{
    private static readonly string Body = "Subject: long\r\n\r\n" + string.Concat(Enumerable.Range(0, 100).Select(i => $"line {i:D3} of the message body\r\n"));

    [Theory]
    [InlineData(LoginFailure.InUse, "-ERR [IN-USE]")]
    [InlineData(LoginFailure.LoginDelay, "-ERR [LOGIN-DELAY]")]
    [InlineData(LoginFailure.SysTemp, "-ERR [SYS/TEMP]")]
    [InlineData(LoginFailure.Auth, "-ERR [AUTH]")]
    public async Task Refused_login_answers_the_code_once_then_logins_work(LoginFailure failure, string expected)
    {
        await using var mail = await Pop3TestServer.StartAsync(o => o.AddUser("alice", "pw").AddUser("bob", "pw"));
        var fault = mail.Faults.RefuseLogin("alice", failure);

        await using (var bob = await mail.LoginAsync("bob", "pw")) { }
        Assert.Equal(0, fault.Fired);

        await using (var c = await mail.ConnectAsync())
        {
            await c.ExpectAsync("+OK");
            await c.SendAsync("USER alice");
            await c.ExpectAsync("+OK");
            await c.SendAsync("PASS pw");
            await c.ExpectAsync(expected);
        }
        Assert.Equal(1, fault.Fired);
        await using (var again = await mail.LoginAsync("alice", "pw")) { }
        Assert.Equal(1, fault.Fired);
        Assert.Equal(0, fault.Remaining);
    }

    [Fact]
    public async Task Refused_login_reaches_MailKit_as_an_error()
    {
        await using var mail = await Pop3TestServer.StartAsync(o => o.AddUser("alice", "pw"));
        // MailKit tries APOP, its SASL mechanisms, then USER/PASS: every one of them is refused.
        var fault = mail.Faults.RefuseLogin("alice", LoginFailure.InUse, times: 100);
        using var client = new Pop3Client();
        await client.ConnectAsync(mail.Pop3EndPoint.Address.ToString(), mail.Pop3EndPoint.Port, MailKit.Security.SecureSocketOptions.None);
        await Assert.ThrowsAnyAsync<MailKit.Security.AuthenticationException>(() => client.AuthenticateAsync("alice", "pw"));
        Assert.True(fault.Fired >= 1);
        Assert.Contains("[IN-USE]", mail.FormatTranscripts(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Dropped_RETR_sends_exactly_the_octets_then_closes_without_the_dot()
    {
        await using var mail = await Pop3TestServer.StartAsync(o => o.AddUser("alice", "pw", Body));
        var fault = mail.Faults.DropConnectionDuringRetr("alice", afterBytes: 100);
        await using (var c = await mail.LoginAsync("alice", "pw"))
        {
            await c.SendAsync("RETR 1");
            await c.ExpectAsync("+OK");
            var rest = await c.ReadToEndAsync();
            Assert.Equal(Encoding.ASCII.GetBytes(Body)[..100], rest);
        }
        Assert.Equal(1, fault.Fired);

        // The next RETR is whole, and the message is still there: nothing was deleted.
        await using (var c = await mail.LoginAsync("alice", "pw"))
        {
            await c.SendAsync("RETR 1");
            await c.ExpectAsync("+OK");
            Assert.Equal(102, (await c.ReadMultilineAsync()).Count);
        }
        Assert.Equal(1, fault.Fired);
    }

    [Fact]
    public async Task Dropped_RETR_is_an_error_in_MailKit()
    {
        await using var mail = await Pop3TestServer.StartAsync(o => o.AddUser("alice", "pw", Body));
        var fault = mail.Faults.DropConnectionDuringRetr("alice", afterBytes: 500);
        using var client = new Pop3Client();
        await client.ConnectAsync(mail.Pop3EndPoint.Address.ToString(), mail.Pop3EndPoint.Port, MailKit.Security.SecureSocketOptions.None);
        await client.AuthenticateAsync("alice", "pw");
        await Assert.ThrowsAnyAsync<Exception>(() => client.GetMessageAsync(0));
        Assert.Equal(1, fault.Fired);
    }

    [Fact]
    public async Task A_message_shorter_than_the_mark_arrives_whole_and_the_drop_waits()
    {
        await using var mail = await Pop3TestServer.StartAsync(o => o.AddUser("alice", "pw", "Subject: short\r\n\r\nx\r\n", Body));
        var fault = mail.Faults.DropConnectionDuringRetr("alice", afterBytes: 1000);
        await using var c = await mail.LoginAsync("alice", "pw");
        await c.SendAsync("RETR 1");
        await c.ExpectAsync("+OK");
        Assert.Equal(3, (await c.ReadMultilineAsync()).Count);
        Assert.Equal(0, fault.Fired);
        await c.SendAsync("RETR 2");
        await c.ExpectAsync("+OK");
        Assert.Equal(1000, (await c.ReadToEndAsync()).Length);
        Assert.Equal(1, fault.Fired);
    }

    [Fact]
    public async Task Throttle_slows_the_user_down()
    {
        // A lower bound only: a loaded machine makes the transfer slower, never faster.
        await using var mail = await Pop3TestServer.StartAsync(o => o.AddUser("alice", "pw", Body).AddUser("bob", "pw", Body));
        var fault = mail.Faults.Throttle("alice", bytesPerSecond: 2_000);
        await using (var bob = await mail.LoginAsync("bob", "pw")) { }
        Assert.Equal(0, fault.Fired);

        await using var c = await mail.LoginAsync("alice", "pw");
        var clock = Stopwatch.StartNew();
        await c.SendAsync("RETR 1");
        await c.ExpectAsync("+OK");
        await c.ReadMultilineAsync();
        // About 3.5 KB at 2 KB/s.
        Assert.True(clock.Elapsed >= TimeSpan.FromSeconds(1.2), $"RETR took {clock.Elapsed}");
        Assert.Equal(1, fault.Fired);
    }

    [Fact]
    public async Task Stalled_reply_comes_late_once()
    {
        await using var mail = await Pop3TestServer.StartAsync(o => o.AddUser("alice", "pw", Body));
        var fault = mail.Faults.StallReply("alice", "retr", TimeSpan.FromMilliseconds(800));
        await using var c = await mail.LoginAsync("alice", "pw");
        Assert.Equal(0, fault.Fired);
        var clock = Stopwatch.StartNew();
        await c.SendAsync("RETR 1");
        await c.ExpectAsync("+OK");
        Assert.True(clock.Elapsed >= TimeSpan.FromMilliseconds(750), $"reply came after {clock.Elapsed}");
        await c.ReadMultilineAsync();
        Assert.Equal(1, fault.Fired);
        await c.SendAsync("RETR 1");
        await c.ExpectAsync("+OK");
        Assert.Equal(1, fault.Fired);
    }

    [Fact]
    public async Task Stalled_PASS_applies_to_the_user_named_by_USER()
    {
        await using var mail = await Pop3TestServer.StartAsync(o => o.AddUser("alice", "pw"));
        var fault = mail.Faults.StallReply("alice", "PASS", TimeSpan.FromMilliseconds(300));
        await using var c = await mail.LoginAsync("alice", "pw");
        Assert.Equal(1, fault.Fired);
        Assert.Contains(mail.Transcripts.Single().Lines, l => l.Contains("stalled", StringComparison.Ordinal));
    }

    [Fact]
    public async Task LIST_misreports_sizes_while_RETR_sends_the_real_message()
    {
        await using var mail = await Pop3TestServer.StartAsync(o => o.AddUser("alice", "pw", "Subject: a\r\n\r\na\r\n", "Subject: b\r\n\r\nbb\r\n"));
        var fault = mail.Faults.MisreportListSize("alice", difference: 10);
        await using var c = await mail.LoginAsync("alice", "pw");
        await c.SendAsync("LIST");
        await c.ExpectAsync("+OK");
        Assert.Equal(["1 27", "2 28"], await c.ReadMultilineAsync());
        Assert.Equal(2, fault.Fired);
        await c.SendAsync("RETR 1");
        Assert.Equal("+OK 17 octets", await c.ReadLineAsync());
        Assert.Equal(["Subject: a", "", "a"], await c.ReadMultilineAsync());
    }

    [Fact]
    public async Task STLS_disconnects_the_next_session_only()
    {
        await using var mail = await Pop3TestServer.StartAsync();
        var fault = mail.Faults.DisconnectOnStls();
        await using (var c = await mail.ConnectAsync())
        {
            await c.ExpectAsync("+OK");
            await c.SendAsync("STLS");
            Assert.Empty(await c.ReadToEndAsync());
        }
        Assert.Equal(1, fault.Fired);
        await using (var c = await mail.ConnectAsync())
        {
            await c.ExpectAsync("+OK");
            await c.SendAsync("STLS");
            await c.ExpectAsync("+OK");
            await c.StartTlsAsync(mail.TrustCertificate);
            await c.SendAsync("CAPA");
            await c.ExpectAsync("+OK");
        }
        Assert.Equal(1, fault.Fired);
    }

    [Fact]
    public async Task Faults_of_one_server_never_touch_another()
    {
        await using var one = await Pop3TestServer.StartAsync(o => o.AddUser("alice", "pw"));
        await using var two = await Pop3TestServer.StartAsync(o => o.AddUser("alice", "pw"));
        var fault = one.Faults.RefuseLogin("alice", LoginFailure.InUse);
        await using (var c = await two.LoginAsync("alice", "pw")) { }
        Assert.Equal(0, fault.Fired);
        Assert.Single(one.Faults.All);
        Assert.Empty(two.Faults.All);
    }

    [Fact]
    public async Task Bare_LF_NUL_and_dot_heavy_content_is_sent_as_RFC_1939_demands()
    {
        var awkward = "Subject: awkward\n\n.leading dot\n..two dots\n.\nnul:\0:end\r\n."u8.ToArray();
        await using var mail = await Pop3TestServer.StartAsync(o => o.AddUser("alice", "pw", awkward));
        await using var c = await mail.LoginAsync("alice", "pw");
        await c.SendAsync("RETR 1");
        await c.ExpectAsync("+OK");
        await c.SendAsync("QUIT");
        var wire = Encoding.Latin1.GetString(await c.ReadToEndAsync());
        // RFC 1939 §3: CRLF line ends, a leading "." doubled, the end marked by CRLF.CRLF.
        Assert.StartsWith("Subject: awkward\r\n\r\n..leading dot\r\n...two dots\r\n..\r\nnul:\0:end\r\n..\r\n.\r\n+OK", wire);
        Assert.DoesNotContain("\n", wire.Replace("\r\n", "", StringComparison.Ordinal), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Dot_heavy_content_round_trips_through_MailKit()
    {
        var body = string.Concat(Enumerable.Range(0, 50).Select(i => new string('.', i % 4) + $"line {i}\r\n"));
        await using var mail = await Pop3TestServer.StartAsync(o => o.AddUser("alice", "pw", "Subject: dots\r\n\r\n" + body));
        using var client = new Pop3Client();
        await client.ConnectAsync(mail.Pop3EndPoint.Address.ToString(), mail.Pop3EndPoint.Port, MailKit.Security.SecureSocketOptions.None);
        await client.AuthenticateAsync("alice", "pw");
        using var stream = await client.GetStreamAsync(0);
        using var copy = new MemoryStream();
        await stream.CopyToAsync(copy);
        Assert.Equal("Subject: dots\r\n\r\n" + body, Encoding.ASCII.GetString(copy.ToArray()));
    }
}
