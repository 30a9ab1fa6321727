using System.Security.Cryptography;
using System.Text;

namespace Restante.Auth;

/// <summary>
/// "{PLAIN}secret": the password itself. Weak on disk, but the only scheme that can serve APOP
/// (RFC 1939 §7 hashes the shared secret, so the server needs it in the clear).
/// </summary>
public sealed class PlainScheme : IPasswordScheme
{
    /// <summary>The shared instance; the scheme has no settings.</summary>
    public static PlainScheme Instance { get; } = new();

    private PlainScheme()
    {
    }

    /// <inheritdoc />
    public string Name => "PLAIN";

    /// <inheritdoc />
    public bool Verify(ReadOnlySpan<char> password, string encoded)
    {
        ArgumentNullException.ThrowIfNull(encoded);
        // Compare fixed-size digests rather than the strings: FixedTimeEquals returns at once on a length mismatch,
        // which would tell an attacker the stored password's length.
        Span<byte> expected = stackalloc byte[SHA256.HashSizeInBytes];
        Span<byte> actual = stackalloc byte[SHA256.HashSizeInBytes];
        Digest(encoded, expected);
        Digest(password, actual);
        return CryptographicOperations.FixedTimeEquals(expected, actual);
    }

    /// <inheritdoc />
    public string Hash(ReadOnlySpan<char> password) => password.ToString();

    /// <inheritdoc />
    public bool TryGetPlaintext(string encoded, out string plaintext)
    {
        ArgumentNullException.ThrowIfNull(encoded);
        plaintext = encoded;
        return true;
    }

    private static void Digest(ReadOnlySpan<char> text, Span<byte> digest)
    {
        // On the stack for any password a person types (no heap copy of it left for the collector to keep); wiped either way.
        var length = Encoding.UTF8.GetByteCount(text);
        var bytes = length <= StackLimit ? stackalloc byte[StackLimit] : new byte[length];
        bytes = bytes[..length];
        Encoding.UTF8.GetBytes(text, bytes);
        SHA256.HashData(bytes, digest);
        CryptographicOperations.ZeroMemory(bytes);
    }

    private const int StackLimit = 512;
}
