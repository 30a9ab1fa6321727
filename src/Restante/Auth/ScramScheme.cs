using System.Security.Cryptography;

namespace Restante.Auth;

/// <summary>
/// "{SCRAM-SHA-256}4096,salt,StoredKey,ServerKey" (and SCRAM-SHA-1), as <c>doveadm pw</c> writes them. Lets the
/// SCRAM mechanism of the same hash log a user in without the server knowing a plaintext-equivalent secret; USER/PASS
/// and AUTH PLAIN verify by recomputing the keys from the offered password.
/// </summary>
public sealed class ScramScheme : IPasswordScheme
{
    private const int SaltLength = 16;

    private ScramScheme(ScramHash hash) => Algorithm = hash;

    /// <summary>SCRAM-SHA-1 (RFC 5802).</summary>
    public static ScramScheme Sha1 { get; } = new(ScramHash.Sha1);

    /// <summary>SCRAM-SHA-256 (RFC 7677).</summary>
    public static ScramScheme Sha256 { get; } = new(ScramHash.Sha256);

    /// <summary>Which hash the stored keys use.</summary>
    public ScramHash Algorithm { get; }

    /// <inheritdoc />
    public string Name => Algorithm.SchemeName();

    /// <inheritdoc />
    public bool Verify(ReadOnlySpan<char> password, string encoded)
    {
        if (!ScramCredentials.TryParse(Algorithm, encoded, out var stored)) return false;
        var computed = ScramCredentials.FromPassword(Algorithm, password, stored.Salt, stored.Iterations);
        return CryptographicOperations.FixedTimeEquals(computed.StoredKey, stored.StoredKey)
            & CryptographicOperations.FixedTimeEquals(computed.ServerKey, stored.ServerKey);
    }

    /// <inheritdoc />
    public string Hash(ReadOnlySpan<char> password)
        => ScramCredentials.FromPassword(Algorithm, password, RandomNumberGenerator.GetBytes(SaltLength), ScramCredentials.DefaultIterations).Format();

    /// <inheritdoc />
    public bool TryGetPlaintext(string encoded, out string plaintext)
    {
        plaintext = "";
        return false;
    }
}
