using System.Net;
using Restante.Tests.Infrastructure;

namespace Restante.Tests.Tls;

/// <summary>
/// Dovecot's disable_plaintext_auth: from a non-loopback address, no password in the clear. These
/// connect for real from a local address outside 127.0.0.0/8 (see <see cref="NonLoopback"/>).
/// </summary>
public class PlaintextPolicyTests
{
    private const string Refusal = "-ERR [AUTH] Plaintext authentication disallowed on non-secure connections.";

    private static async Task<TestServer> ServerAsync(bool allowPlaintext = false)
    {
        var address = NonLoopback.Address!;
        var server = await TestServer.StartAsync(o => o.AllowPlaintext = allowPlaintext,
            configureServer: o => o.Pop3 = [$"{address}:0"]);
        server.AddUser("alice", "secret");
        return server;
    }

    private static Task<Transcript> ConnectFromNonLoopbackAsync(TestServer server)
        => Transcript.ConnectAsync(server.EndPoint, NonLoopback.Address);

    private static async Task<List<string>> CapaAsync(Transcript c)
    {
        await c.SendAsync("CAPA");
        await c.ExpectAsync("+OK");
        return await c.ReadMultiLineAsync();
    }

    [NonLoopbackFact]
    public async Task Plaintext_login_is_refused_from_a_non_loopback_address_until_stls()
    {
        await using var server = await ServerAsync();
        await using var c = await ConnectFromNonLoopbackAsync(server);
        await c.ExpectAsync("+OK");
        Assert.Contains(server.Logs.Lines, l => l.Contains($"connected from {NonLoopback.Address}:", StringComparison.Ordinal));

        var capabilities = await CapaAsync(c);
        Assert.DoesNotContain("USER", capabilities);
        Assert.Contains("STLS", capabilities);
        await c.SendAsync("USER alice");
        Assert.Equal(Refusal, await c.ReadLineAsync());
        await c.SendAsync("PASS secret");
        Assert.Equal(Refusal, await c.ReadLineAsync());

        await c.SendAsync("STLS");
        await c.ExpectAsync("+OK Begin TLS");
        await c.StartTlsAsync(server.TrustServerCertificate);
        capabilities = await CapaAsync(c);
        Assert.Contains("USER", capabilities);
        Assert.DoesNotContain("STLS", capabilities);
        await c.SendAsync("USER alice");
        await c.ExpectAsync("+OK");
        await c.SendAsync("PASS secret");
        await c.ExpectAsync("+OK Logged in");
        Assert.Equal(capabilities, await CapaAsync(c));
    }

    [NonLoopbackFact]
    public async Task Apop_stays_allowed_without_tls()
    {
        await using var server = await ServerAsync();
        await using var c = await ConnectFromNonLoopbackAsync(server);
        var greeting = await c.ExpectAsync("+OK");
        var timestamp = greeting[greeting.IndexOf('<', StringComparison.Ordinal)..];
        var digest = Convert.ToHexStringLower(System.Security.Cryptography.MD5.HashData(System.Text.Encoding.ASCII.GetBytes(timestamp + "secret")));
        await c.SendAsync($"APOP alice {digest}");
        await c.ExpectAsync("+OK Logged in");
        Assert.DoesNotContain("USER", await CapaAsync(c));
    }

    [NonLoopbackFact]
    public async Task AllowPlaintext_permits_user_and_pass_without_tls()
    {
        await using var server = await ServerAsync(allowPlaintext: true);
        await using var c = await ConnectFromNonLoopbackAsync(server);
        await c.ExpectAsync("+OK");
        Assert.Contains("USER", await CapaAsync(c));
        await c.SendAsync("USER alice");
        await c.ExpectAsync("+OK");
        await c.SendAsync("PASS secret");
        await c.ExpectAsync("+OK Logged in");
    }

    [Fact]
    public async Task Loopback_clients_may_log_in_in_the_clear()
    {
        await using var server = await TestServer.StartAsync();
        server.AddUser("alice", "secret");
        await using var c = await server.ConnectAsync();
        await c.ExpectAsync("+OK");
        Assert.Contains("USER", await CapaAsync(c));
        await c.SendAsync("USER alice");
        await c.ExpectAsync("+OK");
        await c.SendAsync("PASS secret");
        await c.ExpectAsync("+OK Logged in");
        Assert.True(IPAddress.IsLoopback(server.EndPoint.Address));
    }
}
