using System.Security.Cryptography;
using System.Text;
using System.Text.RegularExpressions;
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
        await using var server = await TestServer.StartAsync();
        File.WriteAllText(server.PasswdPath, "hashed:{SHA512-CRYPT}$6$saltsalt$qFmFH.bQmmtXzyBY0s9v7Oicd2z4XSIecDzlB5KiA2/jctKu9YterLp8wwnSq.qc.eoxqOmSuNp2xS0ktL3nh/\n");
        await using var c = await server.ConnectAsync();
        var timestamp = Regex.Match(await c.ExpectAsync("+OK"), "<[^>]+>").Value;
        await c.SendAsync($"APOP hashed {Digest(timestamp, "whatever")}");
        Assert.Equal("-ERR [AUTH] Authentication failed.", await c.ReadLineAsync());
        await c.SendAsync("APOP onlyname");
        await c.ExpectAsync("-ERR");
    }
}
