using System.Globalization;
using System.Security.Cryptography;
using System.Text;

namespace Restante.Auth;

/// <summary>
/// What a SCRAM server keeps for a user (RFC 5802 §3): salt, iteration count, StoredKey = H(ClientKey) and
/// ServerKey. Enough to verify a client's proof and to prove itself, not enough to log in elsewhere as the user.
/// </summary>
public sealed class ScramCredentials
{
    /// <summary>Dovecot's iteration count for new secrets (and RFC 7677's minimum recommendation).</summary>
    public const int DefaultIterations = 4096;

    // Hi() cost is paid at every login for PLAIN-stored users; a stored value must not make it unbounded.
    internal const int MaxIterations = 1_000_000;

    public ScramCredentials(ScramHash hash, int iterations, byte[] salt, byte[] storedKey, byte[] serverKey)
    {
        Hash = hash;
        Iterations = iterations;
        Salt = salt;
        StoredKey = storedKey;
        ServerKey = serverKey;
    }

    public ScramHash Hash { get; }

    public int Iterations { get; }

    public byte[] Salt { get; }

    public byte[] StoredKey { get; }

    public byte[] ServerKey { get; }

    /// <summary>RFC 5802 §3: SaltedPassword = Hi(password, salt, i); ClientKey = HMAC(SaltedPassword, "Client Key"); …</summary>
    public static ScramCredentials FromPassword(ScramHash hash, ReadOnlySpan<char> password, byte[] salt, int iterations)
    {
        ArgumentNullException.ThrowIfNull(salt);
        ArgumentOutOfRangeException.ThrowIfLessThan(iterations, 1);
        // REVIEW: RFC 5802 asks for SASLprep (RFC 4013) of the password. ASCII passwords are unaffected; Dovecot
        // does not normalise either, so stored secrets from doveadm and ours agree.
        var passwordBytes = new byte[Encoding.UTF8.GetByteCount(password)];
        Encoding.UTF8.GetBytes(password, passwordBytes);
        var salted = Rfc2898DeriveBytes.Pbkdf2(passwordBytes, salt, iterations, hash.Algorithm(), hash.Length());
        CryptographicOperations.ZeroMemory(passwordBytes);
        var clientKey = hash.Hmac(salted, "Client Key"u8);
        var serverKey = hash.Hmac(salted, "Server Key"u8);
        var storedKey = hash.Digest(clientKey);
        CryptographicOperations.ZeroMemory(salted);
        CryptographicOperations.ZeroMemory(clientKey);
        return new ScramCredentials(hash, iterations, salt, storedKey, serverKey);
    }

    /// <summary>Dovecot's stored form: "iterations,base64(salt),base64(StoredKey),base64(ServerKey)".</summary>
    public string Format() => string.Create(CultureInfo.InvariantCulture,
        $"{Iterations},{Convert.ToBase64String(Salt)},{Convert.ToBase64String(StoredKey)},{Convert.ToBase64String(ServerKey)}");

    /// <summary>Parses Dovecot's stored form; false on anything malformed.</summary>
    public static bool TryParse(ScramHash hash, string encoded, out ScramCredentials credentials)
    {
        ArgumentNullException.ThrowIfNull(encoded);
        credentials = null!;
        var parts = encoded.Split(',');
        if (parts.Length != 4) return false;
        if (!int.TryParse(parts[0], NumberStyles.None, CultureInfo.InvariantCulture, out var iterations) || iterations is < 1 or > MaxIterations)
            return false;
        try
        {
            var salt = Convert.FromBase64String(parts[1]);
            var storedKey = Convert.FromBase64String(parts[2]);
            var serverKey = Convert.FromBase64String(parts[3]);
            if (salt.Length == 0 || storedKey.Length != hash.Length() || serverKey.Length != hash.Length()) return false;
            credentials = new ScramCredentials(hash, iterations, salt, storedKey, serverKey);
            return true;
        }
        catch (FormatException)
        {
            return false;
        }
    }
}
