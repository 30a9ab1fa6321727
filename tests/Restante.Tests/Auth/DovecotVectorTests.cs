using Restante.Auth;

namespace Restante.Tests.Auth;

/// <summary>Every stored secret in dovecot-vectors.txt was written by Dovecot's own <c>doveadm pw</c>; each must verify.</summary>
public class DovecotVectorTests
{
    public static TheoryData<string, string> Vectors()
    {
        var data = new TheoryData<string, string>();
        var path = Path.Combine(AppContext.BaseDirectory, "Auth", "dovecot-vectors.txt");
        foreach (var line in File.ReadAllLines(path))
        {
            if (line.Length == 0 || line[0] == '#') continue;
            var tab = line.IndexOf('\t', StringComparison.Ordinal);
            data.Add(line[..tab], line[(tab + 1)..]);
        }
        return data;
    }

    [Theory]
    [MemberData(nameof(Vectors))]
    public void Doveadm_hashes_verify(string password, string stored)
    {
        Assert.True(PasswordSchemes.TryParse(stored, out var scheme, out var encoded, out var error), error);
        Assert.True(scheme.Verify(password, encoded), stored);
        Assert.False(scheme.Verify(password + "x", encoded), stored);
        Assert.False(scheme.Verify(password.AsSpan(0, password.Length - 1), encoded), stored);
    }

    [Fact]
    public void Every_scheme_doveadm_wrote_is_covered()
    {
        var schemes = Vectors().Select(row => ((string)row[1])[1..((string)row[1]).IndexOf('}', StringComparison.Ordinal)]).ToHashSet();
        foreach (var name in new[] { "PLAIN", "CRAM-MD5", "PBKDF2", "SSHA256", "SSHA512", "ARGON2ID", "SCRAM-SHA-256", "SCRAM-SHA-1", "BLF-CRYPT", "SHA512-CRYPT", "SHA256-CRYPT" })
            Assert.Contains(name, schemes);
    }

    [Fact]
    public void Our_cram_md5_context_is_the_one_doveadm_writes()
        => Assert.Equal("cd3ba7deaad6e5ca23448ba42e379747a9e0f7f1fbc00c8a81bbaac395731b56", CramMd5Scheme.Instance.Hash("secret"));

    [Fact]
    public void Hmac_from_a_stored_context_equals_hmac_md5_from_the_password()
    {
        foreach (var (password, message) in new[] { ("secret", ""), ("tanstaaftanstaaf", "<1896.697170952@postoffice.reston.mci.net>"), (new string('k', 100), new string('m', 200)), ("x", new string('y', 55)), ("x", new string('y', 56)), ("x", new string('y', 64)) })
        {
            var key = System.Text.Encoding.UTF8.GetBytes(password);
            var data = System.Text.Encoding.UTF8.GetBytes(message);
#pragma warning disable CA5351
            var expected = System.Security.Cryptography.HMACMD5.HashData(key, data);
#pragma warning restore CA5351
            Assert.Equal(expected, CramMd5.Hmac(CramMd5.ContextFromPassword(key), data));
        }
    }

    [Fact]
    public void Scram_secrets_from_doveadm_match_ours_for_the_same_salt()
    {
        // doveadm's "{SCRAM-SHA-256}4096,salt,StoredKey,ServerKey" recomputed from the password and its salt.
        var stored = Vectors().Select(r => (string)r[1]).First(s => s.StartsWith("{SCRAM-SHA-256}", StringComparison.Ordinal));
        var encoded = stored["{SCRAM-SHA-256}".Length..];
        Assert.True(ScramCredentials.TryParse(ScramHash.Sha256, encoded, out var parsed));
        Assert.Equal(encoded, ScramCredentials.FromPassword(ScramHash.Sha256, "secret", parsed.Salt, parsed.Iterations).Format());
    }
}
