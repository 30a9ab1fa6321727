using MailKit.Net.Pop3;
using MailKit.Security;
using Restante.Policies;
using Restante.Tests.Infrastructure;

namespace Restante.Tests.Policies;

/// <summary>What CAPA says about LOGIN-DELAY and EXPIRE before and after login (RFC 2449 §6.5, §6.7).</summary>
public sealed class CapaPolicyTests
{
    private static Task<TestServer> StartAsync() => TestServer.StartAsync(o =>
    {
        o.LoginDelay = TimeSpan.FromMinutes(5);
        o.Expire = "30";
        o.Policies.Domains["example.org"] = new DomainPolicyOptions { LoginDelay = TimeSpan.FromMinutes(10), Expire = "7" };
        o.Policies.MinUserExpire = "1";
    });

    private static void AddUser(TestServer server, string name, string fields = "")
        => File.AppendAllText(server.PasswdPath, $"{name}:{{PLAIN}}pw::::::{fields}\n");

    [Fact]
    public async Task Before_login_capa_announces_the_largest_delay_and_the_smallest_expire_with_user()
    {
        await using var server = await StartAsync();
        await using var c = await server.ConnectAsync();
        await c.ExpectAsync("+OK");
        await c.SendAsync("CAPA");
        await c.ExpectAsync("+OK");
        var capabilities = await c.ReadMultiLineAsync();
        // RFC 2449 §6.5: the largest value any user could have; §6.7: the smallest (MinUserExpire lets a field go to 1).
        Assert.Contains("LOGIN-DELAY 600 USER", capabilities);
        Assert.Contains("EXPIRE 1 USER", capabilities);
    }

    [Theory]
    [InlineData("alice", "", 300, 30)]
    [InlineData("bob@example.org", "", 600, 7)]
    [InlineData("bob@EXAMPLE.ORG", "", 600, 7)]
    [InlineData("carol", "userdb_pop3_login_delay=60 userdb_pop3_expire=never", 60, -1)]
    // A field outside what was announced before login is held to it: at most 600 s, at least 1 day.
    [InlineData("dave", "pop3_login_delay=3600 pop3_expire=0", 600, 1)]
    [InlineData("erin@example.org", "userdb_pop3_expire=not-a-number", 600, 7)]
    public async Task After_login_capa_announces_the_users_own_values(string user, string fields, int loginDelay, int expire)
    {
        await using var server = await StartAsync();
        AddUser(server, user, fields);
        using var client = new Pop3Client();
        await client.ConnectAsync("127.0.0.1", server.Port, SecureSocketOptions.None);
        await client.AuthenticateAsync(user, "pw");
        // MailKit asks CAPA again after login and reads these.
        Assert.Equal(loginDelay, client.LoginDelay);
        Assert.Equal(expire, client.ExpirePolicy);
        await client.DisconnectAsync(quit: true);
    }

    [Fact]
    public async Task Without_policies_capa_says_expire_never_and_no_login_delay_in_both_states()
    {
        await using var server = await TestServer.StartAsync();
        server.AddUser("alice", "pw");
        await using var c = await server.ConnectAsync();
        await c.ExpectAsync("+OK");
        await c.SendAsync("CAPA");
        await c.ExpectAsync("+OK");
        var before = await c.ReadMultiLineAsync();
        Assert.Contains("EXPIRE NEVER", before);
        Assert.DoesNotContain(before, l => l.StartsWith("LOGIN-DELAY", StringComparison.Ordinal));
        await c.SendAsync("USER alice");
        await c.ExpectAsync("+OK");
        await c.SendAsync("PASS pw");
        await c.ExpectAsync("+OK");
        await c.SendAsync("CAPA");
        await c.ExpectAsync("+OK");
        var after = await c.ReadMultiLineAsync();
        Assert.Contains("EXPIRE NEVER", after);
        Assert.DoesNotContain(after, l => l.StartsWith("LOGIN-DELAY", StringComparison.Ordinal));
    }
}
