using System.Net;
using MailKit.Net.Pop3;
using MailKit.Security;
using Restante.Auth;
using Restante.Pop3;
using Restante.Tests.Infrastructure;
using Restante.Tests.Tls;

namespace Restante.Tests.Interop;

/// <summary>
/// MailKit's default Authenticate() tries APOP first whenever the greeting has a timestamp. With the default
/// {BLF-CRYPT} users that try can only fail; it must neither cost a failed login nor, ten logins later, get the
/// address blocked. Connects from a real non-loopback address (loopback is exempt from throttling).
/// </summary>
public class MailKitThrottleTests
{
    private const int Logins = 12;   // past LoginThrottle:MaxFailuresPerIp (10)

    private static async Task<TestServer> ServerAsync(ApopMode apop)
    {
        var address = NonLoopback.Address!;
        var server = await TestServer.StartAsync(o =>
        {
            o.Apop = apop;
            o.AllowPlaintext = true;   // USER/PASS and PLAIN over plain TCP from a non-loopback address, as on a LAN
        }, configureServer: o => o.Pop3 = [$"{address}:0"]);
        File.WriteAllText(server.PasswdPath, $"carol:{{BLF-CRYPT}}{PasswordSchemes.Default.Hash("pa55word")}\n");
        return server;
    }

    private static async Task LoginAsync(TestServer server)
    {
        using var client = new Pop3Client { LocalEndPoint = new IPEndPoint(NonLoopback.Address!, 0) };
        await client.ConnectAsync(server.EndPoint.Address.ToString(), server.Port, SecureSocketOptions.None);
        await client.AuthenticateAsync("carol", "pa55word");
        Assert.True(client.IsAuthenticated);
        await client.DisconnectAsync(quit: true);
    }

    [NonLoopbackFact]
    public async Task Default_server_lets_mailkit_in_every_time_without_counting_a_failure()
    {
        await using var server = await ServerAsync(ApopMode.Auto);
        for (var i = 0; i < Logins; i++)
            await LoginAsync(server);

        Assert.Equal(0, server.Server.LoginThrottle.FailuresOf(NonLoopback.Address!));
        Assert.DoesNotContain(server.Logs.Lines, l => l.Contains("Authentication failed", StringComparison.Ordinal));
        Assert.False(server.Server.LoginThrottle.IsBlocked(NonLoopback.Address));
    }

    [NonLoopbackFact]
    public async Task With_apop_forced_on_the_failed_apop_try_is_forgiven_by_the_login_that_follows()
    {
        await using var server = await ServerAsync(ApopMode.On);
        for (var i = 0; i < Logins; i++)
            await LoginAsync(server);

        // MailKit did try APOP each time (and failed: a bcrypt hash cannot serve it) ...
        Assert.Equal(Logins, server.Logs.Lines.Count(l => l.Contains("for user carol with", StringComparison.Ordinal)));
        // ... but each success from the same address took its own user's failures back.
        Assert.Equal(0, server.Server.LoginThrottle.FailuresOf(NonLoopback.Address!));
        Assert.False(server.Server.LoginThrottle.IsBlocked(NonLoopback.Address));
    }
}
