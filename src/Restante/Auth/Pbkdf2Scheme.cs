using System.Globalization;
using System.Security.Cryptography;
using System.Text;

namespace Restante.Auth;

/// <summary>
/// "{PBKDF2}$1$salt$rounds$hex": Dovecot's PBKDF2 scheme, PBKDF2-HMAC-SHA1 (RFC 8018) with a 20-byte key. Dovecot
/// uses the salt as the text it is (16 random characters), not decoded, and writes the key as lower-case hex.
/// </summary>
public sealed class Pbkdf2Scheme : IPasswordScheme
{
    /// <summary>Dovecot's default rounds for new hashes.</summary>
    public const int DefaultRounds = 5000;

    private const int KeyLength = 20;
    private const int SaltLength = 16;
    private const int MaxRounds = 10_000_000;
    private const string SaltAlphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";

    /// <summary>The shared instance, with <see cref="DefaultRounds"/>.</summary>
    public static Pbkdf2Scheme Instance { get; } = new();

    private Pbkdf2Scheme()
    {
    }

    /// <inheritdoc />
    public string Name => "PBKDF2";

    /// <inheritdoc />
    public bool Verify(ReadOnlySpan<char> password, string encoded)
    {
        ArgumentNullException.ThrowIfNull(encoded);
        // "$1$" salt "$" rounds "$" hex
        var parts = encoded.Split('$');
        if (parts.Length != 5 || parts[0].Length != 0 || parts[1] != "1" || parts[2].Length == 0)
            return false;
        if (!int.TryParse(parts[3], NumberStyles.None, CultureInfo.InvariantCulture, out var rounds) || rounds is < 1 or > MaxRounds)
            return false;
        var expected = new byte[KeyLength];
        if (parts[4].Length != KeyLength * 2
            || Convert.FromHexString(parts[4], expected, out _, out var written) != System.Buffers.OperationStatus.Done
            || written != KeyLength)
        {
            return false;
        }
        var actual = Derive(password, parts[2], rounds);
        var equal = CryptographicOperations.FixedTimeEquals(expected, actual);
        CryptographicOperations.ZeroMemory(actual);
        return equal;
    }

    /// <inheritdoc />
    public string Hash(ReadOnlySpan<char> password)
    {
        var salt = RandomNumberGenerator.GetString(SaltAlphabet, SaltLength);
        var key = Derive(password, salt, DefaultRounds);
        return string.Create(CultureInfo.InvariantCulture, $"$1${salt}${DefaultRounds}${Convert.ToHexStringLower(key)}");
    }

    /// <inheritdoc />
    public bool TryGetPlaintext(string encoded, out string plaintext)
    {
        plaintext = "";
        return false;
    }

    private static byte[] Derive(ReadOnlySpan<char> password, string salt, int rounds)
    {
        var passwordBytes = new byte[Encoding.UTF8.GetByteCount(password)];
        Encoding.UTF8.GetBytes(password, passwordBytes);
        var key = Rfc2898DeriveBytes.Pbkdf2(passwordBytes, Encoding.UTF8.GetBytes(salt), rounds, HashAlgorithmName.SHA1, KeyLength);
        CryptographicOperations.ZeroMemory(passwordBytes);
        return key;
    }
}
