using System.Text;
using Restante.Auth;
using Restante.Tests.Infrastructure;

namespace Restante.Tests.Pop3;

/// <summary>RFC 5034 AUTH over a real socket: listing, initial responses, "=", "*", bad base64, long lines, pipelining.</summary>
public class AuthTests
{
    private static string B64(string text) => Convert.ToBase64String(Encoding.UTF8.GetBytes(text));

    private static async Task<TestServer> ServerAsync(params string[] mechanisms)
    {
        var server = await TestServer.StartAsync(o =>
        {
            if (mechanisms.Length > 0) o.Sasl.Mechanisms = [.. mechanisms];
        });
        server.AddUser("alice", "secret");
        File.AppendAllText(server.PasswdPath, $"bob:{{BLF-CRYPT}}{new BlfCryptScheme(4).Hash("secret")}\n");
        server.Deliver("alice", "Subject: one\n\nbody\n");
        return server;
    }

    private static async Task<Transcript> ConnectAsync(TestServer server)
    {
        var c = await server.ConnectAsync();
        await c.ExpectAsync("+OK");
        return c;
    }

    [Fact]
    public async Task Capa_and_auth_list_what_this_connection_can_use()
    {
        await using var server = await ServerAsync();
        await using var c = await ConnectAsync(server);
        await c.SendAsync("CAPA");
        await c.ExpectAsync("+OK");
        // Loopback: plaintext allowed; no OAuth configured, so no token mechanisms.
        Assert.Contains("SASL PLAIN LOGIN", await c.ReadMultiLineAsync());
        await c.SendAsync("AUTH");
        await c.ExpectAsync("+OK");
        Assert.Equal(["PLAIN", "LOGIN"], await c.ReadMultiLineAsync());
    }

    [Fact]
    public async Task Configured_mechanisms_are_listed_in_order()
    {
        await using var server = await ServerAsync("SCRAM-SHA-256", "CRAM-MD5", "PLAIN", "SCRAM-SHA-256-PLUS");
        await using var c = await ConnectAsync(server);
        await c.SendAsync("CAPA");
        await c.ExpectAsync("+OK");
        // -PLUS needs a TLS channel binding, which a plain connection does not have.
        Assert.Contains("SASL SCRAM-SHA-256 CRAM-MD5 PLAIN", await c.ReadMultiLineAsync());
        await c.SendAsync("AUTH SCRAM-SHA-256-PLUS");
        Assert.Equal("-ERR Unsupported authentication mechanism.", await c.ReadLineAsync());
        await c.SendAsync("AUTH LOGIN");
        Assert.Equal("-ERR Unsupported authentication mechanism.", await c.ReadLineAsync());
        await c.SendAsync("AUTH NO-SUCH-MECH");
        Assert.Equal("-ERR Unsupported authentication mechanism.", await c.ReadLineAsync());
    }

    [Fact]
    public async Task Plain_with_an_initial_response()
    {
        await using var server = await ServerAsync();
        await using var c = await ConnectAsync(server);
        await c.SendAsync("AUTH PLAIN " + B64("\0alice\0secret"));
        Assert.Equal("+OK Logged in, 1 messages (22 octets).", await c.ReadLineAsync());
        Assert.Contains(server.Logs.Lines, l => l.Contains("User alice logged in with PLAIN", StringComparison.Ordinal));
    }

    [Fact]
    public async Task Plain_without_an_initial_response_gets_an_empty_challenge()
    {
        await using var server = await ServerAsync();
        await using var c = await ConnectAsync(server);
        await c.SendAsync("auth plain");
        Assert.Equal("+ ", await c.ReadLineAsync());
        await c.SendAsync(B64("\0bob\0secret"));
        await c.ExpectAsync("+OK Logged in");
    }

    [Fact]
    public async Task Login_prompts_for_user_and_password()
    {
        await using var server = await ServerAsync();
        await using var c = await ConnectAsync(server);
        await c.SendAsync("AUTH LOGIN");
        Assert.Equal("+ " + B64("Username:"), await c.ReadLineAsync());
        await c.SendAsync(B64("bob"));
        Assert.Equal("+ " + B64("Password:"), await c.ReadLineAsync());
        await c.SendAsync(B64("secret"));
        await c.ExpectAsync("+OK Logged in");
    }

    [Fact]
    public async Task Equals_sign_is_an_empty_initial_response_not_a_missing_one()
    {
        await using var server = await ServerAsync();
        await using var c = await ConnectAsync(server);
        // An empty PLAIN message is malformed: the exchange fails at once instead of asking with "+ ".
        await c.SendAsync("AUTH PLAIN =");
        Assert.Equal("-ERR [AUTH] Authentication failed.", await c.ReadLineAsync());
        // For LOGIN an empty initial response is an empty user name: also a failure, not a prompt for one.
        await c.SendAsync("AUTH LOGIN =");
        Assert.Equal("-ERR [AUTH] Authentication failed.", await c.ReadLineAsync());
    }

    [Fact]
    public async Task Star_cancels_the_exchange()
    {
        await using var server = await ServerAsync();
        await using var c = await ConnectAsync(server);
        await c.SendAsync("AUTH LOGIN");
        await c.ExpectAsync("+ ");
        await c.SendAsync("*");
        Assert.Equal("-ERR Authentication cancelled.", await c.ReadLineAsync());
        // Still in AUTHORIZATION, and the session goes on.
        await c.SendAsync("STAT");
        Assert.Equal("-ERR Command not valid before login.", await c.ReadLineAsync());
        await c.SendAsync("AUTH PLAIN " + B64("\0alice\0secret"));
        await c.ExpectAsync("+OK Logged in");
    }

    [Fact]
    public async Task Bad_base64_is_refused()
    {
        await using var server = await ServerAsync();
        await using var c = await ConnectAsync(server);
        await c.SendAsync("AUTH PLAIN not*base64");
        Assert.Equal("-ERR Invalid base64 data in initial response.", await c.ReadLineAsync());
        await c.SendAsync("AUTH PLAIN");
        await c.ExpectAsync("+ ");
        await c.SendAsync("AAA");
        Assert.Equal("-ERR Invalid base64 data in response.", await c.ReadLineAsync());
        await c.SendAsync("AUTH PLAIN a b");
        Assert.Equal("-ERR AUTH takes a mechanism and at most one initial response.", await c.ReadLineAsync());
    }

    [Fact]
    public async Task Wrong_password_and_unusable_scheme_fail_alike()
    {
        await using var server = await ServerAsync("PLAIN", "SCRAM-SHA-256", "CRAM-MD5");
        await using var c = await ConnectAsync(server);
        await c.SendAsync("AUTH PLAIN " + B64("\0alice\0wrong"));
        Assert.Equal("-ERR [AUTH] Authentication failed.", await c.ReadLineAsync());
        // bob is stored as BLF-CRYPT: CRAM-MD5 cannot be served, and fails exactly like a wrong digest.
        await c.SendAsync("AUTH CRAM-MD5");
        var challenge = Encoding.ASCII.GetString(Convert.FromBase64String((await c.ReadLineAsync())![2..]));
        Assert.Matches("^<.+@test.example>$", challenge);
        var digest = Convert.ToHexStringLower(System.Security.Cryptography.HMACMD5.HashData("secret"u8, Encoding.ASCII.GetBytes(challenge)));
        await c.SendAsync(B64("bob " + digest));
        Assert.Equal("-ERR [AUTH] Authentication failed.", await c.ReadLineAsync());
        // alice is PLAIN: the same computation works.
        await c.SendAsync("AUTH CRAM-MD5");
        challenge = Encoding.ASCII.GetString(Convert.FromBase64String((await c.ReadLineAsync())![2..]));
        digest = Convert.ToHexStringLower(System.Security.Cryptography.HMACMD5.HashData("secret"u8, Encoding.ASCII.GetBytes(challenge)));
        await c.SendAsync(B64("alice " + digest));
        await c.ExpectAsync("+OK Logged in");
    }

    [Fact]
    public async Task Continuation_lines_of_16_KB_are_read_and_one_octet_more_is_refused()
    {
        await using var server = await ServerAsync();
        await using var c = await ConnectAsync(server);

        // 16,382 octets + CRLF = MaxAuthLine exactly: read whole (and refused as base64, since it is not).
        await c.SendAsync("AUTH PLAIN");
        await c.ExpectAsync("+ ");
        await c.SendAsync(new string('A', 16_382));
        Assert.Equal("-ERR Invalid base64 data in response.", await c.ReadLineAsync());

        // One more octet: "Line too long", the rest of the line is skipped, the session goes on.
        await c.SendAsync("AUTH PLAIN");
        await c.ExpectAsync("+ ");
        await c.SendAsync(new string('A', 16_383));
        Assert.Equal("-ERR Line too long.", await c.ReadLineAsync());
        await c.SendAsync("NOOP");
        Assert.Equal("-ERR Command not valid before login.", await c.ReadLineAsync());

        // A real 16 KB response (a long password) logs in.
        var longPassword = new string('p', 12_000);
        File.AppendAllText(server.PasswdPath, $"carol:{{PLAIN}}{longPassword}\n");
        await c.SendAsync("AUTH PLAIN");
        await c.ExpectAsync("+ ");
        var response = B64("\0carol\0" + longPassword);
        Assert.True(response.Length > 255 * 60);
        await c.SendAsync(response);
        await c.ExpectAsync("+OK Logged in");
    }

    [Fact]
    public async Task Initial_responses_of_16_KB_are_accepted_on_the_auth_line()
    {
        await using var server = await ServerAsync();
        var longPassword = new string('q', 12_000);
        File.AppendAllText(server.PasswdPath, $"dave:{{PLAIN}}{longPassword}\n");
        await using var c = await ConnectAsync(server);
        await c.SendAsync("AUTH PLAIN " + B64("\0dave\0" + longPassword));
        await c.ExpectAsync("+OK Logged in");
    }

    [Fact]
    public async Task Commands_pipelined_after_auth_run_in_order()
    {
        await using var server = await ServerAsync();
        await using var c = await ConnectAsync(server);
        // Initial response, then commands, in one write.
        await c.SendRawAsync(Encoding.ASCII.GetBytes($"AUTH PLAIN {B64("\0alice\0secret")}\r\nSTAT\r\nQUIT\r\n"));
        await c.ExpectAsync("+OK Logged in");
        Assert.Equal("+OK 1 22", await c.ReadLineAsync());
        await c.ExpectAsync("+OK Logging out");
        Assert.True(await c.IsClosedAsync());
    }

    [Fact]
    public async Task A_continuation_response_already_in_the_buffer_is_used()
    {
        await using var server = await ServerAsync();
        await using var c = await ConnectAsync(server);
        // The client does not wait for "+ ": the response and the next command arrive with the AUTH line.
        await c.SendRawAsync(Encoding.ASCII.GetBytes($"AUTH PLAIN\r\n{B64("\0alice\0secret")}\r\nSTAT\r\n"));
        Assert.Equal("+ ", await c.ReadLineAsync());
        await c.ExpectAsync("+OK Logged in");
        Assert.Equal("+OK 1 22", await c.ReadLineAsync());
    }

    [Fact]
    public async Task A_client_that_hangs_up_mid_exchange_ends_the_session()
    {
        await using var server = await ServerAsync();
        var c = await ConnectAsync(server);
        await c.SendAsync("AUTH LOGIN");
        await c.ExpectAsync("+ ");
        await c.DisposeAsync();
        for (var i = 0; i < 100 && server.Server.ActiveSessions > 0; i++) await Task.Delay(20);
        Assert.Equal(0, server.Server.ActiveSessions);
    }

    [Fact]
    public async Task Sasl_secrets_never_reach_the_log()
    {
        await using var server = await ServerAsync();
        await using var c = await ConnectAsync(server);
        await c.SendAsync("AUTH LOGIN");
        await c.ExpectAsync("+ ");
        await c.SendAsync(B64("alice"));
        await c.ExpectAsync("+ ");
        await c.SendAsync(B64("hunter2-secret"));
        await c.ExpectAsync("-ERR [AUTH]");
        await c.SendAsync("AUTH PLAIN " + B64("\0alice\0secret"));
        await c.ExpectAsync("+OK");
        Assert.DoesNotContain(server.Logs.Lines, l => l.Contains("hunter2", StringComparison.Ordinal)
            || l.Contains(B64("hunter2-secret"), StringComparison.Ordinal)
            || l.Contains(B64("\0alice\0secret"), StringComparison.Ordinal));
        Assert.Contains(server.Logs.Lines, l => l.Contains("for user alice with LOGIN", StringComparison.Ordinal));
    }
}
