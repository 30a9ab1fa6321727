using System.Text;
using MailKit;
using MailKit.Net.Pop3;
using MailKit.Security;
using Microsoft.IdentityModel.Tokens;
using Restante.Auth;
using Restante.Tests.Infrastructure;

namespace Restante.Tests.Interop;

/// <summary>Real clients through SASL: MailKit with every mechanism it has, curl as the README shows it.</summary>
public class SaslInteropTests
{
    private static readonly string[] s_all = ["PLAIN", "LOGIN", "CRAM-MD5", "SCRAM-SHA-1", "SCRAM-SHA-256", "OAUTHBEARER", "XOAUTH2"];

    private static async Task<(TestServer Server, TestTokens Tokens)> ServerAsync()
    {
        var data = new TempDirectory();
        var tokens = new TestTokens(data.Path);
        var server = await TestServer.StartAsync(o =>
        {
            o.Sasl.Mechanisms = [.. s_all];
            o.OAuth.Issuer = TestTokens.Issuer;
            o.OAuth.Audience = TestTokens.Audience;
            o.OAuth.JwksFile = tokens.JwksFile;
        }, data: data);
        server.AddUser("carol", "pa55word");   // {PLAIN}: serves every mechanism
        File.AppendAllText(server.PasswdPath, $"sam:{{SCRAM-SHA-256}}{ScramScheme.Sha256.Hash("pa55word")}\n");
        File.AppendAllText(server.PasswdPath, $"cram:{{CRAM-MD5}}{CramMd5Scheme.Instance.Hash("pa55word")}\n");
        File.AppendAllText(server.PasswdPath, $"carol@example.com:{{BLF-CRYPT}}{new BlfCryptScheme(4).Hash("unused")}\n");
        server.Deliver("carol", "Subject: hello\n\nhi\n");
        return (server, tokens);
    }

    public static TheoryData<string, string> Mechanisms() => new()
    {
        { "PLAIN", "carol" }, { "LOGIN", "carol" }, { "CRAM-MD5", "carol" }, { "SCRAM-SHA-1", "carol" }, { "SCRAM-SHA-256", "carol" },
        { "SCRAM-SHA-256", "sam" },   // stored SCRAM keys, no plaintext on the server
        { "CRAM-MD5", "cram" },       // Dovecot's stored CRAM-MD5 context
        { "PLAIN", "sam" }, { "PLAIN", "cram" },
    };

    private static SaslMechanism Create(string name, string user, string password) => name switch
    {
        "PLAIN" => new SaslMechanismPlain(user, password),
        "LOGIN" => new SaslMechanismLogin(user, password),
        "CRAM-MD5" => new SaslMechanismCramMd5(user, password),
        "SCRAM-SHA-1" => new SaslMechanismScramSha1(user, password),
        "SCRAM-SHA-256" => new SaslMechanismScramSha256(user, password),
        _ => throw new ArgumentException(name),
    };

    [Theory]
    [MemberData(nameof(Mechanisms))]
    public async Task MailKit_logs_in_with(string mechanism, string user)
    {
        var (server, tokens) = await ServerAsync();
        await using var _ = server;
        using var __ = tokens;
        using var client = new Pop3Client();
        await client.ConnectAsync("127.0.0.1", server.Port, SecureSocketOptions.None);
        Assert.Contains(mechanism, client.AuthenticationMechanisms);
        await client.AuthenticateAsync(Create(mechanism, user, "pa55word"));
        Assert.Contains(server.Logs.Lines, l => l.Contains($"User {user} logged in with {mechanism}", StringComparison.Ordinal));
        if (user == "carol") Assert.Equal("hello", (await client.GetMessageAsync(0)).Subject);
        await client.DisconnectAsync(quit: true);
    }

    [Theory]
    [InlineData("CRAM-MD5", "sam")]        // SCRAM keys cannot answer CRAM-MD5
    [InlineData("SCRAM-SHA-1", "sam")]     // nor SCRAM-SHA-1
    [InlineData("SCRAM-SHA-256", "cram")]  // a CRAM-MD5 context cannot serve SCRAM
    [InlineData("SCRAM-SHA-256", "nobody")]
    [InlineData("PLAIN", "carol-wrong")]
    public async Task MailKit_is_refused_when_the_stored_secret_cannot_serve_the_mechanism(string mechanism, string user)
    {
        var (server, tokens) = await ServerAsync();
        await using var _ = server;
        using var __ = tokens;
        using var client = new Pop3Client();
        await client.ConnectAsync("127.0.0.1", server.Port, SecureSocketOptions.None);
        var name = user == "carol-wrong" ? "carol" : user;
        var password = user == "carol-wrong" ? "wrong" : "pa55word";
        await Assert.ThrowsAsync<AuthenticationException>(() => client.AuthenticateAsync(Create(mechanism, name, password)));
    }

    [Theory]
    [InlineData("OAUTHBEARER")]
    [InlineData("XOAUTH2")]
    public async Task MailKit_logs_in_with_a_jwt_access_token(string mechanism)
    {
        var (server, tokens) = await ServerAsync();
        await using var _ = server;
        using var __ = tokens;
        using var client = new Pop3Client();
        await client.ConnectAsync("127.0.0.1", server.Port, SecureSocketOptions.None);
        Assert.Contains(mechanism, client.AuthenticationMechanisms);
        var token = tokens.Create(email: "carol@example.com");
        Assert.True(token.Length > 255);
        SaslMechanism sasl = mechanism == "XOAUTH2"
            ? new SaslMechanismOAuth2("carol@example.com", token)
            : new SaslMechanismOAuthBearer("carol@example.com", token);
        await client.AuthenticateAsync(sasl);
        Assert.Contains(server.Logs.Lines, l => l.Contains($"User carol@example.com logged in with {mechanism}", StringComparison.Ordinal));
        await client.DisconnectAsync(quit: true);
    }

    [Fact]
    public async Task Bad_tokens_are_refused()
    {
        var (server, tokens) = await ServerAsync();
        await using var _ = server;
        using var __ = tokens;
        using var otherKey = System.Security.Cryptography.RSA.Create(2048);
        var bad = new[]
        {
            tokens.Create(email: "carol@example.com", issuer: "https://evil.example"),
            tokens.Create(email: "carol@example.com", audience: "someone-else"),
            tokens.Create(email: "carol@example.com", lifetime: TimeSpan.FromMinutes(-5)),
            tokens.Create(email: "carol@example.com", signingKey: new RsaSecurityKey(otherKey) { KeyId = "test-key-1" }),
            tokens.Create(email: "nobody@example.com"),          // valid token, no such user
            tokens.Create(subject: "carol@example.com") + "x",   // tampered
            "not-a-jwt",
        };
        // Raw transcripts: MailKit's POP3 client treats the RFC 7628 error challenge as a protocol error instead of
        // answering it with the dummy "\x01", so it cannot show the exchange end to end.
        foreach (var token in bad)
        {
            await using var c = await server.ConnectAsync();
            await c.ExpectAsync("+OK");
            await c.SendAsync("AUTH OAUTHBEARER " + Convert.ToBase64String(Encoding.UTF8.GetBytes($"n,a=carol@example.com,\u0001auth=Bearer {token}\u0001\u0001")));
            Assert.Equal("+ " + Convert.ToBase64String("""{"status":"invalid_token","schemes":"bearer"}"""u8), await c.ReadLineAsync());
            await c.SendAsync("AQ==");
            Assert.Equal("-ERR [AUTH] Authentication failed.", await c.ReadLineAsync());
            // XOAUTH2: Google's error JSON, then the client's empty line.
            await c.SendAsync("AUTH XOAUTH2 " + Convert.ToBase64String(Encoding.UTF8.GetBytes($"user=carol@example.com\u0001auth=Bearer {token}\u0001\u0001")));
            Assert.Equal("+ " + Convert.ToBase64String("""{"status":"401","schemes":"bearer"}"""u8), await c.ReadLineAsync());
            await c.SendAsync("");
            Assert.Equal("-ERR [AUTH] Authentication failed.", await c.ReadLineAsync());
        }
    }

    [Fact]
    public async Task Oauthbearer_error_is_the_rfc_7628_json_then_the_client_dummy_response()
    {
        var (server, tokens) = await ServerAsync();
        await using var _ = server;
        using var __ = tokens;
        await using var c = await server.ConnectAsync();
        await c.ExpectAsync("+OK");
        var wrongUser = tokens.Create(email: "carol@example.com");
        // The token names carol@example.com, the client claims to be somebody else.
        var message = $"n,a=mallory@example.com,\u0001auth=Bearer {wrongUser}\u0001\u0001";
        await c.SendAsync("AUTH OAUTHBEARER " + Convert.ToBase64String(Encoding.UTF8.GetBytes(message)));
        var challenge = await c.ReadLineAsync();
        Assert.StartsWith("+ ", challenge, StringComparison.Ordinal);
        Assert.Equal("""{"status":"invalid_token","schemes":"bearer"}""", Encoding.UTF8.GetString(Convert.FromBase64String(challenge![2..])));
        await c.SendAsync("AQ==");   // RFC 7628 §3.2.3: the client's dummy "\x01"
        Assert.Equal("-ERR [AUTH] Authentication failed.", await c.ReadLineAsync());

        // The sub claim is the fallback when there is no email claim.
        var bySubject = tokens.Create(subject: "carol");
        await c.SendAsync("AUTH OAUTHBEARER " + Convert.ToBase64String(Encoding.UTF8.GetBytes($"n,,\u0001auth=Bearer {bySubject}\u0001\u0001")));
        await c.ExpectAsync("+OK Logged in");
    }

    [Fact]
    public async Task MailKit_default_login_of_a_bcrypt_user_succeeds()
    {
        var (server, tokens) = await ServerAsync();
        await using var _ = server;
        using var __ = tokens;
        File.AppendAllText(server.PasswdPath, $"bob:{{BLF-CRYPT}}{new BlfCryptScheme(4).Hash("secret")}\n");
        using var client = new Pop3Client();
        await client.ConnectAsync("127.0.0.1", server.Port, SecureSocketOptions.None);
        client.AuthenticationMechanisms.Remove("OAUTHBEARER");
        client.AuthenticationMechanisms.Remove("XOAUTH2");
        // MailKit tries APOP, then each SASL mechanism best first; those bcrypt cannot serve fail, PLAIN works.
        await client.AuthenticateAsync("bob", "secret");
        Assert.True(client.IsAuthenticated);
    }

    [Fact]
    public async Task Curl_readme_command_works_for_a_bcrypt_user()
    {
        // Before SASL, curl chose APOP (the greeting has a timestamp) and a {BLF-CRYPT} user could not log in.
        await using var server = await TestServer.StartAsync();
        File.AppendAllText(server.PasswdPath, $"alice:{{BLF-CRYPT}}{new BlfCryptScheme(4).Hash("secret")}\n");
        server.Deliver("alice", "Subject: curl\n\nhello curl\n");
        var output = Path.Combine(server.Data.Path, "curl.out");
        var (exit, stderr) = await ExternalClientTests.RunAsync("curl", "-sS", "--max-time", "20", "-o", output,
            $"pop3://alice:secret@127.0.0.1:{server.Port}/1");
        Assert.True(exit == 0, stderr);
        Assert.Equal("Subject: curl\r\n\r\nhello curl\r\n", await File.ReadAllTextAsync(output));
        // curl ranks PLAIN above LOGIN (and would pick CRAM-MD5 above both, which is why that is opt-in).
        Assert.Contains(server.Logs.Lines, l => l.Contains("User alice logged in with PLAIN", StringComparison.Ordinal));
    }

    [Fact]
    public async Task Curl_with_login_options_auth_plain()
    {
        await using var server = await TestServer.StartAsync();
        File.AppendAllText(server.PasswdPath, $"alice:{{BLF-CRYPT}}{new BlfCryptScheme(4).Hash("secret")}\n");
        server.Deliver("alice", "Subject: curl\n\nhello curl\n");
        var output = Path.Combine(server.Data.Path, "list.out");
        var (exit, stderr) = await ExternalClientTests.RunAsync("curl", "-sS", "--max-time", "20", "--login-options", "AUTH=PLAIN", "-o", output,
            $"pop3://alice:secret@127.0.0.1:{server.Port}/");
        Assert.True(exit == 0, stderr);
        Assert.Equal("1 29\r\n", await File.ReadAllTextAsync(output));
        Assert.Contains(server.Logs.Lines, l => l.Contains("User alice logged in with PLAIN", StringComparison.Ordinal));
    }
}
