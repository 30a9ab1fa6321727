using System.Security.Cryptography;
using System.Text;
using MailKit.Net.Pop3;
using MailKit.Security;
using Restante.Tests.Auth.Sasl;
using Restante.Tests.Infrastructure;

namespace Restante.Tests.Tls;

/// <summary>SASL on TLS connections: the plaintext policy for PLAIN/LOGIN, and SCRAM-SHA-256-PLUS channel binding.</summary>
public class SaslOverTlsTests
{
    private static readonly string[] s_mechanisms = ["SCRAM-SHA-256-PLUS", "SCRAM-SHA-256", "PLAIN", "LOGIN"];

    private static async Task<TestServer> ServerAsync(string? listen = null)
    {
        var server = await TestServer.StartAsync(o => o.Sasl.Mechanisms = [.. s_mechanisms], configureServer: o =>
        {
            if (listen is not null) o.Pop3 = [listen];
            o.Pop3s = [(listen is null ? "127.0.0.1" : listen[..listen.LastIndexOf(':')]) + ":0"];
        });
        server.AddUser("alice", "secret");
        return server;
    }

    private static async Task<string> SaslLineAsync(Transcript c)
    {
        await c.SendAsync("CAPA");
        await c.ExpectAsync("+OK");
        return (await c.ReadMultiLineAsync()).Single(l => l.StartsWith("SASL ", StringComparison.Ordinal));
    }

    [NonLoopbackFact]
    public async Task Plain_and_login_wait_for_tls_from_a_non_loopback_address()
    {
        await using var server = await ServerAsync($"{NonLoopback.Address}:0");
        await using var c = await Transcript.ConnectAsync(server.EndPoint, NonLoopback.Address);
        await c.ExpectAsync("+OK");
        Assert.Equal("SASL SCRAM-SHA-256", await SaslLineAsync(c));
        await c.SendAsync("AUTH PLAIN " + Convert.ToBase64String("\0alice\0secret"u8));
        Assert.Equal("-ERR [AUTH] Plaintext authentication disallowed on non-secure connections.", await c.ReadLineAsync());
        await c.SendAsync("AUTH LOGIN");
        Assert.Equal("-ERR [AUTH] Plaintext authentication disallowed on non-secure connections.", await c.ReadLineAsync());

        await c.SendAsync("STLS");
        await c.ExpectAsync("+OK");
        await c.StartTlsAsync(server.TrustServerCertificate);
        Assert.Equal("SASL SCRAM-SHA-256-PLUS SCRAM-SHA-256 PLAIN LOGIN", await SaslLineAsync(c));
        await c.SendAsync("AUTH PLAIN " + Convert.ToBase64String("\0alice\0secret"u8));
        await c.ExpectAsync("+OK Logged in");
    }

    [Fact]
    public async Task Plus_is_offered_only_with_tls()
    {
        await using var server = await ServerAsync();
        await using var plain = await server.ConnectAsync();
        await plain.ExpectAsync("+OK");
        Assert.Equal("SASL SCRAM-SHA-256 PLAIN LOGIN", await SaslLineAsync(plain));
        await plain.SendAsync("AUTH SCRAM-SHA-256-PLUS");
        Assert.Equal("-ERR Unsupported authentication mechanism.", await plain.ReadLineAsync());

        await using var tls = await Transcript.ConnectTlsAsync(server.Server.Pop3sEndPoints[0], server.TrustServerCertificate);
        await tls.ExpectAsync("+OK");
        Assert.Equal("SASL SCRAM-SHA-256-PLUS SCRAM-SHA-256 PLAIN LOGIN", await SaslLineAsync(tls));
    }

    [Fact]
    public async Task Scram_plus_binds_to_the_hash_of_the_server_certificate()
    {
        await using var server = await ServerAsync();
        foreach (var (tamper, expected) in new[] { (false, "+ "), (true, "-ERR [AUTH] Authentication failed.") })
        {
            await using var c = await Transcript.ConnectTlsAsync(server.Server.Pop3sEndPoints[0], server.TrustServerCertificate);
            await c.ExpectAsync("+OK");
            // RFC 5929 §4.1: hash of the DER certificate with its signature hash (SHA-256 for our certificate).
            using var certificate = new System.Security.Cryptography.X509Certificates.X509Certificate2(c.Tls!.RemoteCertificate!);
            Assert.Contains(certificate.SignatureAlgorithm.FriendlyName ?? "", new[] { "sha256ECDSA", "sha256RSA" });
            var binding = SHA256.HashData(certificate.RawData);
            if (tamper) binding[0] ^= 1;

            const string gs2 = "p=tls-server-end-point,,";
            await c.SendAsync("AUTH SCRAM-SHA-256-PLUS " + Convert.ToBase64String(Encoding.ASCII.GetBytes(gs2 + "n=alice,r=clientnonce")));
            var serverFirst = Encoding.ASCII.GetString(Convert.FromBase64String((await c.ReadLineAsync())![2..]));
            var nonce = serverFirst.Split(',')[0][2..];
            var channel = $"c={Convert.ToBase64String([.. Encoding.ASCII.GetBytes(gs2), .. binding])},r={nonce}";
            var proof = SaslVectorTests.ClientProof(Restante.Auth.ScramHash.Sha256, "secret", serverFirst, "n=alice,r=clientnonce", channel);
            await c.SendAsync(Convert.ToBase64String(Encoding.ASCII.GetBytes($"{channel},p={proof}")));
            Assert.StartsWith(expected, await c.ReadLineAsync(), StringComparison.Ordinal);
        }
    }

    [Theory]
    [InlineData(SecureSocketOptions.StartTls)]
    [InlineData(SecureSocketOptions.SslOnConnect)]
    public async Task MailKit_logs_in_with_scram_sha_256_plus(SecureSocketOptions security)
    {
        await using var server = await ServerAsync();
        var port = security == SecureSocketOptions.SslOnConnect ? server.Server.Pop3sEndPoints[0].Port : server.Port;
        using var client = new Pop3Client();
        client.ServerCertificateValidationCallback = server.TrustServerCertificate;
        await client.ConnectAsync("127.0.0.1", port, security);
        Assert.Contains("SCRAM-SHA-256-PLUS", client.AuthenticationMechanisms);
        await client.AuthenticateAsync(new SaslMechanismScramSha256Plus("alice", "secret"));
        Assert.Contains(server.Logs.Lines, l => l.Contains("User alice logged in with SCRAM-SHA-256-PLUS", StringComparison.Ordinal));
        await client.DisconnectAsync(quit: true);
    }
}
