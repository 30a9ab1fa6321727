using System.Text;
using Restante.Auth;
using Restante.Auth.Sasl;

namespace Restante.Tests.Auth.Sasl;

/// <summary>The examples of RFC 2195, RFC 4616, RFC 5802 and RFC 7677, byte for byte, with the server's randomness pinned.</summary>
public class SaslVectorTests
{
    private static SaslContext Context(Dictionary<string, string> users, string nonce, string hostname = "test.example", byte[]? binding = null)
    {
        var services = new SaslServices(new Authenticator(new MemoryUsers(users), new BlfCryptScheme(4)), new SaslOptions(), hostname, newNonce: () => nonce);
        return new SaslContext(isSecure: binding is not null, plaintextAllowed: true, tlsServerEndPoint: binding, services);
    }

    private static async Task<SaslStep> StepAsync(ISaslExchange exchange, string? response)
        => await exchange.StepAsync(response is null ? (ReadOnlyMemory<byte>?)null : Encoding.UTF8.GetBytes(response), CancellationToken.None);

    [Fact]
    public async Task Rfc2195_cram_md5_example()
    {
        var context = Context(new() { ["tim"] = "{PLAIN}tanstaaftanstaaf" }, "1896.697170952", "postoffice.reston.mci.net");
        var exchange = SaslMechanisms.Find("CRAM-MD5")!.Start(context);
        var challenge = await StepAsync(exchange, null);
        Assert.Equal(SaslStepKind.Continue, challenge.Kind);
        Assert.Equal("<1896.697170952@postoffice.reston.mci.net>", Encoding.ASCII.GetString(challenge.Challenge));
        // RFC 2195 §2: "dGltIGI5MTNhNjAyYzdlZGE3YTQ5NWI0ZTZlNzMzNGQzODkw"
        Assert.Equal("dGltIGI5MTNhNjAyYzdlZGE3YTQ5NWI0ZTZlNzMzNGQzODkw", Convert.ToBase64String("tim b913a602c7eda7a495b4e6e7334d3890"u8));
        var done = await StepAsync(exchange, "tim b913a602c7eda7a495b4e6e7334d3890");
        Assert.Equal(SaslStepKind.Succeeded, done.Kind);
        Assert.Equal("tim", done.User);
    }

    [Theory]
    [InlineData("{PLAIN}tanstaaftanstaaf", true)]
    [InlineData("{CRAM-MD5}STORED", true)]       // Dovecot's stored HMAC context serves CRAM-MD5 without the password
    [InlineData("{BLF-CRYPT}BLF", false)]         // a one-way hash cannot: fails like a wrong digest
    [InlineData("{SCRAM-SHA-256}SCRAM", false)]
    public async Task Cram_md5_is_served_by_plain_and_cram_md5_secrets_only(string stored, bool succeeds)
    {
        stored = stored.Replace("STORED", CramMd5Scheme.Instance.Hash("tanstaaftanstaaf"), StringComparison.Ordinal)
            .Replace("BLF", new BlfCryptScheme(4).Hash("tanstaaftanstaaf"), StringComparison.Ordinal)
            .Replace("SCRAM", ScramScheme.Sha256.Hash("tanstaaftanstaaf"), StringComparison.Ordinal);
        var exchange = SaslMechanisms.Find("CRAM-MD5")!.Start(Context(new() { ["tim"] = stored }, "1896.697170952", "postoffice.reston.mci.net"));
        await StepAsync(exchange, null);
        var done = await StepAsync(exchange, "tim b913a602c7eda7a495b4e6e7334d3890");
        Assert.Equal(succeeds ? SaslStepKind.Succeeded : SaslStepKind.Failed, done.Kind);
    }

    [Fact]
    public async Task Rfc4616_plain_examples()
    {
        var users = new Dictionary<string, string> { ["tim"] = "{PLAIN}tanstaaftanstaaf", ["Kurt"] = "{PLAIN}xipj3plmq" };
        var plain = SaslMechanisms.Find("PLAIN")!;
        // RFC 4616 §4: "\0tim\0tanstaaftanstaaf" as an initial response.
        var ok = await StepAsync(plain.Start(Context(users, "n")), "\0tim\0tanstaaftanstaaf");
        Assert.Equal(("tim", SaslStepKind.Succeeded), (ok.User, ok.Kind));
        // Same, with authzid equal to authcid.
        Assert.Equal(SaslStepKind.Succeeded, (await StepAsync(plain.Start(Context(users, "n")), "tim\0tim\0tanstaaftanstaaf")).Kind);
        // RFC 4616 §4: "Ursel\0Kurt\0xipj3plmq": Kurt acting as Ursel, which we do not allow.
        Assert.Equal(SaslStepKind.Failed, (await StepAsync(plain.Start(Context(users, "n")), "Ursel\0Kurt\0xipj3plmq")).Kind);
        // Without an initial response the server asks with an empty challenge.
        var exchange = plain.Start(Context(users, "n"));
        var ask = await StepAsync(exchange, null);
        Assert.Equal((SaslStepKind.Continue, 0), (ask.Kind, ask.Challenge.Length));
        Assert.Equal(SaslStepKind.Succeeded, (await StepAsync(exchange, "\0Kurt\0xipj3plmq")).Kind);
    }

    [Theory]
    [InlineData("\0tim\0wrong")]
    [InlineData("tim\0tanstaaftanstaaf")]          // one NUL
    [InlineData("\0tim\0tanstaaftanstaaf\0")]      // three NULs
    [InlineData("\0\0tanstaaftanstaaf")]           // empty authcid
    [InlineData("\0tim\0")]                        // empty password
    [InlineData("")]
    public async Task Plain_refuses_malformed_or_wrong_messages(string message)
    {
        var step = await StepAsync(SaslMechanisms.Find("PLAIN")!.Start(Context(new() { ["tim"] = "{PLAIN}tanstaaftanstaaf" }, "n")), message);
        Assert.Equal(SaslStepKind.Failed, step.Kind);
    }

    [Fact]
    public async Task Rfc5802_scram_sha_1_example()
    {
        // RFC 5802 §5: user "user", password "pencil", salt QSXCR+Q6sek8bf92, 4096 iterations.
        var stored = ScramCredentials.FromPassword(ScramHash.Sha1, "pencil", Convert.FromBase64String("QSXCR+Q6sek8bf92"), 4096).Format();
        var exchange = SaslMechanisms.Find("SCRAM-SHA-1")!.Start(Context(new() { ["user"] = "{SCRAM-SHA-1}" + stored }, "3rfcNHYJY1ZVvWVs7j"));
        var first = await StepAsync(exchange, "n,,n=user,r=fyko+d2lbbFgONRv9qkxdawL");
        Assert.Equal("r=fyko+d2lbbFgONRv9qkxdawL3rfcNHYJY1ZVvWVs7j,s=QSXCR+Q6sek8bf92,i=4096", Encoding.UTF8.GetString(first.Challenge));
        var final = await StepAsync(exchange, "c=biws,r=fyko+d2lbbFgONRv9qkxdawL3rfcNHYJY1ZVvWVs7j,p=v0X8v3Bz2T0CJGbJQyF0X+HI4Ts=");
        Assert.Equal("v=rmF9pqV8S7suAoZWja4dJRkFsKQ=", Encoding.UTF8.GetString(final.Challenge));
        var done = await StepAsync(exchange, "");
        Assert.Equal(("user", SaslStepKind.Succeeded), (done.User, done.Kind));
    }

    [Fact]
    public async Task Rfc7677_scram_sha_256_example()
    {
        // RFC 7677 §3: user "user", password "pencil", salt W22ZaJ0SNY7soEsUEjb6gQ==, 4096 iterations.
        var stored = ScramCredentials.FromPassword(ScramHash.Sha256, "pencil", Convert.FromBase64String("W22ZaJ0SNY7soEsUEjb6gQ=="), 4096).Format();
        var exchange = SaslMechanisms.Find("SCRAM-SHA-256")!.Start(Context(new() { ["user"] = "{SCRAM-SHA-256}" + stored }, "%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0"));
        var first = await StepAsync(exchange, "n,,n=user,r=rOprNGfwEbeRWgbNEkqO");
        Assert.Equal("r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096", Encoding.UTF8.GetString(first.Challenge));
        var final = await StepAsync(exchange, "c=biws,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,p=dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ=");
        Assert.Equal("v=6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4=", Encoding.UTF8.GetString(final.Challenge));
        Assert.Equal(SaslStepKind.Succeeded, (await StepAsync(exchange, "")).Kind);
    }

    [Fact]
    public async Task Scram_from_a_plain_secret_and_a_wrong_proof_fails()
    {
        var exchange = SaslMechanisms.Find("SCRAM-SHA-256")!.Start(Context(new() { ["user"] = "{PLAIN}pencil" }, "srv"));
        var first = Encoding.UTF8.GetString((await StepAsync(exchange, "n,,n=user,r=abc")).Challenge);
        Assert.StartsWith("r=abcsrv,s=", first, StringComparison.Ordinal);
        var wrong = Convert.ToBase64String(new byte[32]);
        Assert.Equal(SaslStepKind.Failed, (await StepAsync(exchange, $"c=biws,r=abcsrv,p={wrong}")).Kind);
    }

    [Theory]
    [InlineData("{BLF-CRYPT}")]
    [InlineData("{SCRAM-SHA-1}")]
    [InlineData(null)]
    public async Task Scram_for_an_unusable_secret_or_unknown_user_looks_the_same_and_fails(string? scheme)
    {
        var users = new Dictionary<string, string>();
        if (scheme == "{BLF-CRYPT}") users["user"] = scheme + new BlfCryptScheme(4).Hash("pencil");
        if (scheme == "{SCRAM-SHA-1}") users["user"] = scheme + ScramScheme.Sha1.Hash("pencil");
        var context = Context(users, "srv");
        var mechanism = SaslMechanisms.Find("SCRAM-SHA-256")!;
        var a = mechanism.Start(context);
        var firstA = Encoding.UTF8.GetString((await StepAsync(a, "n,,n=user,r=abc")).Challenge);
        var b = mechanism.Start(context);
        var firstB = Encoding.UTF8.GetString((await StepAsync(b, "n,,n=user,r=abc")).Challenge);
        Assert.Equal(firstA, firstB);                   // the made-up salt is stable per name
        Assert.EndsWith(",i=4096", firstA, StringComparison.Ordinal);
        // A client that knows "pencil" computes a proof; it must still fail.
        var proof = ClientProof(ScramHash.Sha256, "pencil", firstA, "n=user,r=abc", "c=biws,r=abcsrv");
        Assert.Equal(SaslStepKind.Failed, (await StepAsync(a, $"c=biws,r=abcsrv,p={proof}")).Kind);
    }

    [Theory]
    [InlineData("y,,n=user,r=abc", true)]                                   // client could bind, thinks we cannot: downgrade
    [InlineData("p=tls-server-end-point,,n=user,r=abc", true)]              // binding on the non-PLUS mechanism
    [InlineData("n,,m=ext,n=user,r=abc", false)]                             // unknown mandatory extension
    [InlineData("n,a=other,n=user,r=abc", false)]                            // authzid differs from the user
    [InlineData("n,,n=us=41er,r=abc", false)]                                // bad saslname escape
    public async Task Scram_refuses_bad_client_first_messages(string clientFirst, bool withBinding)
    {
        var context = Context(new() { ["user"] = "{PLAIN}pencil" }, "srv", binding: withBinding ? new byte[32] : null);
        var step = await StepAsync(SaslMechanisms.Find("SCRAM-SHA-256")!.Start(context), clientFirst);
        Assert.Equal(SaslStepKind.Failed, step.Kind);
    }

    [Fact]
    public async Task Scram_sha_256_plus_checks_the_tls_server_end_point_binding()
    {
        var binding = Enumerable.Range(1, 32).Select(i => (byte)i).ToArray();
        var context = Context(new() { ["user"] = "{PLAIN}pencil" }, "srv", binding: binding);
        var plus = SaslMechanisms.Find("SCRAM-SHA-256-PLUS")!;
        Assert.True(context.Allows(plus));
        Assert.False(Context(new(), "srv").Allows(plus));   // no TLS binding: not offered

        const string gs2 = "p=tls-server-end-point,,";
        foreach (var (cbind, expected) in new[] { (binding, SaslStepKind.Continue), (new byte[32], SaslStepKind.Failed) })
        {
            var exchange = plus.Start(context);
            var first = Encoding.UTF8.GetString((await StepAsync(exchange, gs2 + "n=user,r=abc")).Challenge);
            var c = "c=" + Convert.ToBase64String([.. Encoding.ASCII.GetBytes(gs2), .. cbind]) + ",r=abcsrv";
            var proof = ClientProof(ScramHash.Sha256, "pencil", first, "n=user,r=abc", c);
            Assert.Equal(expected, (await StepAsync(exchange, $"{c},p={proof}")).Kind);
        }
    }

    [Fact]
    public async Task Login_asks_for_user_then_password()
    {
        var exchange = SaslMechanisms.Find("LOGIN")!.Start(Context(new() { ["tim"] = "{PLAIN}tanstaaftanstaaf" }, "n"));
        Assert.Equal("Username:", Encoding.ASCII.GetString((await StepAsync(exchange, null)).Challenge));
        Assert.Equal("Password:", Encoding.ASCII.GetString((await StepAsync(exchange, "tim")).Challenge));
        Assert.Equal(SaslStepKind.Succeeded, (await StepAsync(exchange, "tanstaaftanstaaf")).Kind);

        var withInitial = SaslMechanisms.Find("LOGIN")!.Start(Context(new() { ["tim"] = "{PLAIN}tanstaaftanstaaf" }, "n"));
        Assert.Equal("Password:", Encoding.ASCII.GetString((await StepAsync(withInitial, "tim")).Challenge));
        Assert.Equal(SaslStepKind.Failed, (await StepAsync(withInitial, "wrong")).Kind);
    }

    [Fact]
    public void Plaintext_mechanisms_are_hidden_when_the_policy_disallows_them()
    {
        var services = new SaslServices(new Authenticator(new MemoryUsers(new())), new SaslOptions { Mechanisms = ["PLAIN", "LOGIN", "CRAM-MD5", "SCRAM-SHA-256"] }, "h");
        var closed = new SaslContext(isSecure: false, plaintextAllowed: false, tlsServerEndPoint: null, services);
        Assert.Equal(["CRAM-MD5", "SCRAM-SHA-256"], services.Offered(closed).Select(m => m.Name));
        var open = new SaslContext(isSecure: false, plaintextAllowed: true, tlsServerEndPoint: null, services);
        Assert.Equal(["PLAIN", "LOGIN", "CRAM-MD5", "SCRAM-SHA-256"], services.Offered(open).Select(m => m.Name));
    }

    internal static string ClientProof(ScramHash hash, string password, string serverFirst, string clientFirstBare, string clientFinalWithoutProof)
    {
        var parts = serverFirst.Split(',');
        var salt = Convert.FromBase64String(parts[1][2..]);
        var iterations = int.Parse(parts[2][2..], System.Globalization.CultureInfo.InvariantCulture);
        var algorithm = hash == ScramHash.Sha1 ? System.Security.Cryptography.HashAlgorithmName.SHA1 : System.Security.Cryptography.HashAlgorithmName.SHA256;
        var length = hash == ScramHash.Sha1 ? 20 : 32;
        var salted = System.Security.Cryptography.Rfc2898DeriveBytes.Pbkdf2(Encoding.UTF8.GetBytes(password), salt, iterations, algorithm, length);
        byte[] Hmac(byte[] key, byte[] data) => hash == ScramHash.Sha1 ? System.Security.Cryptography.HMACSHA1.HashData(key, data) : System.Security.Cryptography.HMACSHA256.HashData(key, data);
        var clientKey = Hmac(salted, "Client Key"u8.ToArray());
        var storedKey = hash == ScramHash.Sha1 ? System.Security.Cryptography.SHA1.HashData(clientKey) : System.Security.Cryptography.SHA256.HashData(clientKey);
        var signature = Hmac(storedKey, Encoding.UTF8.GetBytes($"{clientFirstBare},{serverFirst},{clientFinalWithoutProof}"));
        return Convert.ToBase64String(clientKey.Select((b, i) => (byte)(b ^ signature[i])).ToArray());
    }
}
