using System.Text;
using MailKit.Net.Pop3;
using MailKit.Net.Smtp;
using MimeKit;

namespace Restante.Testing.Tests;

public sealed class Pop3TestServerTests
{
    private const string Hello = "Subject: hello\r\n\r\nHi Alice\r\n";

    [Fact]
    public async Task Listens_on_loopback_ports_the_system_chose()
    {
        await using var mail = await Pop3TestServer.StartAsync(o => o.AddUser("alice", "pw"));
        Assert.Equal("127.0.0.1", mail.Pop3EndPoint.Address.ToString());
        Assert.NotEqual(0, mail.Pop3EndPoint.Port);
        Assert.NotEqual(0, mail.Pop3sEndPoint.Port);
        Assert.NotEqual(0, mail.SmtpEndPoint.Port);
        Assert.Equal(3, new[] { mail.Pop3EndPoint.Port, mail.Pop3sEndPoint.Port, mail.SmtpEndPoint.Port }.Distinct().Count());
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task Messages_after_QUIT_are_what_the_client_left(bool maildir)
    {
        await using var mail = await Pop3TestServer.StartAsync(o =>
        {
            o.AddUser("alice", "pw", "Subject: one\r\n\r\n1\r\n", Encoding.ASCII.GetBytes("Subject: two\r\n\r\n2\r\n"));
            if (maildir) o.UseMaildir();
        });
        await mail.DeliverAsync("alice", new MemoryStream(Encoding.ASCII.GetBytes("Subject: three\r\n\r\n3\r\n")));

        using (var client = new Pop3Client())
        {
            await client.ConnectAsync(mail.Pop3EndPoint.Address.ToString(), mail.Pop3EndPoint.Port, MailKit.Security.SecureSocketOptions.None);
            await client.AuthenticateAsync("alice", "pw");
            Assert.Equal(3, client.Count);
            Assert.Equal("two", (await client.GetMessageAsync(1)).Subject);
            await client.DeleteMessageAsync(1);
            await client.DisconnectAsync(quit: true);
        }

        var left = mail.Messages("alice").Select(Encoding.ASCII.GetString).ToList();
        Assert.Equal(["Subject: one\r\n\r\n1\r\n", "Subject: three\r\n\r\n3\r\n"], left);
        Assert.Equal(left.Count, (await mail.GetMessagesAsync("alice")).Count);
    }

    [Fact]
    public async Task Deletions_without_QUIT_leave_the_mailbox_as_it_was()
    {
        await using var mail = await Pop3TestServer.StartAsync(o => o.AddUser("alice", "pw", Hello));
        await using (var c = await mail.LoginAsync("alice", "pw"))
        {
            await c.SendAsync("DELE 1");
            await c.ExpectAsync("+OK");
        }
        // The session ends on the server a moment after the client hangs up; wait for the lock to go.
        await WaitUntilAsync(() => mail.Server.ActiveSessions == 0);
        Assert.Single(mail.Messages("alice"));
    }

    [Fact]
    public async Task Pop3s_with_the_generated_certificate()
    {
        await using var mail = await Pop3TestServer.StartAsync(o => o.AddUser("alice", "pw", Hello));
        Assert.Contains("localhost", mail.Certificate.Subject, StringComparison.Ordinal);
        using var client = new Pop3Client { ServerCertificateValidationCallback = mail.TrustCertificate };
        await client.ConnectAsync("localhost", mail.Pop3sEndPoint.Port, MailKit.Security.SecureSocketOptions.SslOnConnect);
        await client.AuthenticateAsync("alice", "pw");
        Assert.Equal("hello", (await client.GetMessageAsync(0)).Subject);
        await client.DisconnectAsync(quit: true);
        Assert.Equal("POP3S", mail.Transcripts.Single().Protocol);
    }

    [Fact]
    public async Task Smtp_delivers_to_the_users()
    {
        await using var mail = await Pop3TestServer.StartAsync(o => o.AddUser("alice", "pw"));
        using (var smtp = new SmtpClient())
        {
            await smtp.ConnectAsync(mail.SmtpEndPoint.Address.ToString(), mail.SmtpEndPoint.Port, MailKit.Security.SecureSocketOptions.None);
            var message = new MimeMessage();
            message.From.Add(MailboxAddress.Parse("app@example.com"));
            message.To.Add(MailboxAddress.Parse("alice@example.com"));
            message.Subject = "sent by SMTP";
            message.Body = new TextPart("plain") { Text = "hello" };
            await smtp.SendAsync(message);
            await smtp.DisconnectAsync(quit: true);
        }
        var stored = Encoding.UTF8.GetString(Assert.Single(mail.Messages("alice")));
        Assert.Contains("Subject: sent by SMTP", stored, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_user_added_while_running_can_log_in()
    {
        await using var mail = await Pop3TestServer.StartAsync();
        await using (var refused = await mail.ConnectAsync())
        {
            await refused.ExpectAsync("+OK");
            await refused.SendAsync("USER bob");
            await refused.ExpectAsync("+OK");
            await refused.SendAsync("PASS pw");
            await refused.ExpectAsync("-ERR [AUTH]");
        }
        mail.AddUser("bob", "pw");
        await using var c = await mail.LoginAsync("bob", "pw");
        await c.SendAsync("STAT");
        Assert.Equal("+OK 0 0", await c.ReadLineAsync());
    }

    [Fact]
    public async Task Dispose_deletes_the_data_directory()
    {
        var mail = await Pop3TestServer.StartAsync(o => o.UseMaildir().AddUser("alice", "pw", Hello));
        var directory = mail.DataDirectory;
        Assert.True(Directory.Exists(directory));
        await mail.DisposeAsync();
        Assert.False(Directory.Exists(directory));
    }

    [Fact]
    public async Task Hundred_servers_in_parallel_each_serve_their_own_mail()
    {
        var servers = await Task.WhenAll(Enumerable.Range(0, 100).Select(i =>
            Pop3TestServer.StartAsync(o => o.AddUser("alice", "pw", $"Subject: server {i}\r\n\r\n{i}\r\n"))));
        try
        {
            Assert.Equal(100, servers.Select(s => s.Pop3EndPoint.Port).Distinct().Count());
            var subjects = await Task.WhenAll(servers.Select(async s =>
            {
                await using var c = await s.LoginAsync("alice", "pw");
                await c.SendAsync("RETR 1");
                await c.ExpectAsync("+OK");
                return (await c.ReadMultilineAsync())[0];
            }));
            Assert.Equal(Enumerable.Range(0, 100).Select(i => $"Subject: server {i}"), subjects);
            Assert.All(servers, s => Assert.Single(s.Transcripts));
        }
        finally
        {
            await Task.WhenAll(servers.Select(s => s.DisposeAsync().AsTask()));
        }
    }

    internal static async Task WaitUntilAsync(Func<bool> condition)
    {
        var deadline = DateTime.UtcNow.AddSeconds(10);
        while (!condition())
        {
            if (DateTime.UtcNow > deadline) throw new TimeoutException("Condition not reached within 10 s.");
            await Task.Delay(10);
        }
    }
}
