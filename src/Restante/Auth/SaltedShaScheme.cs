using System.Security.Cryptography;
using System.Text;

namespace Restante.Auth;

/// <summary>
/// "{SSHA}", "{SSHA256}", "{SSHA512}": base64(H(password || salt) || salt), the LDAP-style salted digests Dovecot
/// reads and writes. Any salt length verifies (the salt is whatever follows the digest); new hashes get 16 bytes.
/// A single fast hash: acceptable only for migrating existing files, which is why it is not the default.
/// </summary>
public sealed class SaltedShaScheme : IPasswordScheme
{
    private const int NewSaltLength = 16;
    private readonly HashAlgorithmName _algorithm;
    private readonly int _digestLength;

    private SaltedShaScheme(string name, HashAlgorithmName algorithm, int digestLength)
    {
        Name = name;
        _algorithm = algorithm;
        _digestLength = digestLength;
    }

    /// <summary>SSHA: SHA-1.</summary>
    public static SaltedShaScheme Ssha { get; } = new("SSHA", HashAlgorithmName.SHA1, SHA1.HashSizeInBytes);

    /// <summary>SSHA256: SHA-256.</summary>
    public static SaltedShaScheme Ssha256 { get; } = new("SSHA256", HashAlgorithmName.SHA256, SHA256.HashSizeInBytes);

    /// <summary>SSHA512: SHA-512.</summary>
    public static SaltedShaScheme Ssha512 { get; } = new("SSHA512", HashAlgorithmName.SHA512, SHA512.HashSizeInBytes);

    /// <inheritdoc />
    public string Name { get; }

    /// <inheritdoc />
    public bool Verify(ReadOnlySpan<char> password, string encoded)
    {
        ArgumentNullException.ThrowIfNull(encoded);
        byte[] decoded;
        try
        {
            decoded = Convert.FromBase64String(encoded);
        }
        catch (FormatException)
        {
            return false;
        }
        if (decoded.Length <= _digestLength) return false;
        var actual = Digest(password, decoded.AsSpan(_digestLength));
        return CryptographicOperations.FixedTimeEquals(actual, decoded.AsSpan(0, _digestLength));
    }

    /// <inheritdoc />
    public string Hash(ReadOnlySpan<char> password)
    {
        var salt = RandomNumberGenerator.GetBytes(NewSaltLength);
        return Convert.ToBase64String([.. Digest(password, salt), .. salt]);
    }

    /// <inheritdoc />
    public bool TryGetPlaintext(string encoded, out string plaintext)
    {
        plaintext = "";
        return false;
    }

    private byte[] Digest(ReadOnlySpan<char> password, ReadOnlySpan<byte> salt)
    {
        var input = new byte[Encoding.UTF8.GetByteCount(password) + salt.Length];
        var n = Encoding.UTF8.GetBytes(password, input);
        salt.CopyTo(input.AsSpan(n));
        using var hash = IncrementalHash.CreateHash(_algorithm);
        hash.AppendData(input);
        CryptographicOperations.ZeroMemory(input);
        return hash.GetHashAndReset();
    }
}
