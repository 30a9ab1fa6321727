using Restante.Tests.Infrastructure;

namespace Restante.Tests.Lmtp;

/// <summary>
/// LMTP has no STARTTLS: it is neither announced nor a command, so the connection never asks the LMTP session to
/// upgrade (the session has no TLS step of its own; <c>ILineProtocol.StartTlsAsync</c> keeps its default).
/// </summary>
public class LmtpStartTlsTests
{
    [Fact]
    public async Task STARTTLS_is_not_offered_is_answered_as_unknown_and_the_session_goes_on()
    {
        await using var server = await TestServer.StartAsync();
        server.AddUser("alice", "secret");
        var (c, capabilities) = await Lmtp.GreetAsync(server);
        await using var _c = c;
        Assert.DoesNotContain(capabilities, line => line.Contains("STARTTLS", StringComparison.OrdinalIgnoreCase));

        await c.SendAsync("STARTTLS");
        Assert.Equal("500 5.5.1 Command unrecognized", await c.ReadLineAsync());
        // Still in plaintext and in step: the next command is answered as usual.
        await c.SendAsync("NOOP");
        await c.ExpectAsync("250 ");
    }
}
