using System.Security.Cryptography;
using System.Text;
using System.Text.RegularExpressions;
using Restante.Pop3;
using Restante.Tests.Infrastructure;

namespace Restante.Tests.Pop3;

public class ApopTests
{
    private static string Digest(string timestamp, string secret)
        => Convert.ToHexStringLower(MD5.HashData(Encoding.UTF8.GetBytes(timestamp + secret)));

    [Fact]
    public async Task Apop_logs_in_with_the_digest_over_this_connections_timestamp()
    {
        await using var server = await TestServer.StartAsync();
        server.AddUser("mrose", "tanstaaf");
        server.Deliver("mrose", "Subject: x\n\nx\n");
        await using var c = await server.ConnectAsync();
        var greeting = await c.ExpectAsync("+OK");
        var timestamp = Regex.Match(greeting, "<[^>]+>").Value;
        await c.SendAsync($"APOP mrose {Digest(timestamp, "tanstaaf").ToUpperInvariant()}");
        await c.ExpectAsync("+OK Logged in");
        await c.SendAsync("STAT");
        await c.ExpectAsync("+OK 1 ");
    }

    [Fact]
    public async Task Apop_with_another_connections_timestamp_fails()
    {
        await using var server = await TestServer.StartAsync();
        server.AddUser("mrose", "tanstaaf");
        string oldTimestamp;
        await using (var first = await server.ConnectAsync())
            oldTimestamp = Regex.Match(await first.ExpectAsync("+OK"), "<[^>]+>").Value;

        await using var c = await server.ConnectAsync();
        await c.ExpectAsync("+OK");
        await c.SendAsync($"APOP mrose {Digest(oldTimestamp, "tanstaaf")}");
        Assert.Equal("-ERR [AUTH] Authentication failed.", await c.ReadLineAsync());
    }

    [Fact]
    public async Task Apop_for_a_user_with_a_hashed_password_fails_like_a_wrong_password()
    {
        await using var server = await TestServer.StartAsync(o => o.Apop = ApopMode.On);
        File.WriteAllText(server.PasswdPath, "hashed:{SHA512-CRYPT}$6$saltsalt$qFmFH.bQmmtXzyBY0s9v7Oicd2z4XSIecDzlB5KiA2/jctKu9YterLp8wwnSq.qc.eoxqOmSuNp2xS0ktL3nh/\n");
        await using var c = await server.ConnectAsync();
        var timestamp = Regex.Match(await c.ExpectAsync("+OK"), "<[^>]+>").Value;
        await c.SendAsync($"APOP hashed {Digest(timestamp, "whatever")}");
        Assert.Equal("-ERR [AUTH] Authentication failed.", await c.ReadLineAsync());
        await c.SendAsync("APOP onlyname");
        await c.ExpectAsync("-ERR");
    }

    private const string HashedUser = "hashed:{SHA512-CRYPT}$6$saltsalt$qFmFH.bQmmtXzyBY0s9v7Oicd2z4XSIecDzlB5KiA2/jctKu9YterLp8wwnSq.qc.eoxqOmSuNp2xS0ktL3nh/\n";

    [Fact]
    public async Task Auto_offers_apop_only_while_some_secret_can_serve_it_and_follows_the_file()
    {
        await using var server = await TestServer.StartAsync();   // Apop = Auto, the default
        File.WriteAllText(server.PasswdPath, HashedUser);
        await using (var c = await server.ConnectAsync())
        {
            // RFC 1939 §7: no timestamp, no APOP; a client that tries anyway is told so, and it is no failed login.
            Assert.Equal("+OK Restante POP3 server ready.", await c.ReadLineAsync());
            await c.SendAsync("APOP hashed 0123456789abcdef0123456789abcdef");
            Assert.Equal("-ERR APOP is not available on this server.", await c.ReadLineAsync());
        }
        Assert.DoesNotContain(server.Logs.Lines, l => l.Contains("Authentication failed", StringComparison.Ordinal));

        // A PLAIN user appears: the next greeting offers APOP, and it works.
        server.AddUser("mrose", "tanstaaf");
        await using (var c = await server.ConnectAsync())
        {
            var timestamp = Regex.Match(await c.ExpectAsync("+OK"), "<[^>]+>").Value;
            Assert.NotEqual("", timestamp);
            await c.SendAsync($"APOP mrose {Digest(timestamp, "tanstaaf")}");
            await c.ExpectAsync("+OK Logged in");
        }

        // And it goes again with the last such user.
        File.WriteAllText(server.PasswdPath, HashedUser);
        File.SetLastWriteTimeUtc(server.PasswdPath, DateTime.UtcNow.AddSeconds(5));
        await using (var c = await server.ConnectAsync())
            Assert.Equal("+OK Restante POP3 server ready.", await c.ReadLineAsync());
    }

    [Fact]
    public async Task Off_never_offers_apop_even_with_plain_users()
    {
        await using var server = await TestServer.StartAsync(o => o.Apop = ApopMode.Off);
        server.AddUser("mrose", "tanstaaf");
        await using var c = await server.ConnectAsync();
        Assert.Equal("+OK Restante POP3 server ready.", await c.ReadLineAsync());
        await c.SendAsync("APOP mrose 0123456789abcdef0123456789abcdef");
        Assert.Equal("-ERR APOP is not available on this server.", await c.ReadLineAsync());
    }
}
