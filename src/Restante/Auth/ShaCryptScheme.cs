using System.Globalization;
using System.Security.Cryptography;
using System.Text;

namespace Restante.Auth;

/// <summary>
/// "{SHA512-CRYPT}$6$salt$hash" and "{SHA256-CRYPT}$5$salt$hash", as produced by Dovecot's <c>doveadm pw</c>,
/// <c>mkpasswd -m sha-512</c> and <c>openssl passwd -6</c>; "rounds=N$" after the prefix is honoured.
/// </summary>
public sealed class ShaCryptScheme : IPasswordScheme
{
    private readonly int _bits;
    private readonly int _rounds;

    /// <summary>SHA256-CRYPT with the default 5000 rounds.</summary>
    public static ShaCryptScheme Sha256 { get; } = new(256);

    /// <summary>SHA512-CRYPT with the default 5000 rounds.</summary>
    public static ShaCryptScheme Sha512 { get; } = new(512);

    /// <param name="bits">256 or 512.</param>
    /// <param name="rounds">Rounds for new hashes, 1000–999,999,999. The default (5000) is not written into the
    /// hash, matching crypt(3) and Dovecot.</param>
    public ShaCryptScheme(int bits, int rounds = ShaCrypt.DefaultRounds)
    {
        if (bits is not (256 or 512))
            throw new ArgumentOutOfRangeException(nameof(bits), bits, "SHA-crypt exists for 256 and 512 bits only.");
        ArgumentOutOfRangeException.ThrowIfLessThan(rounds, ShaCrypt.MinRounds);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(rounds, ShaCrypt.MaxRounds);
        _bits = bits;
        _rounds = rounds;
    }

    /// <inheritdoc />
    public string Name => _bits == 256 ? "SHA256-CRYPT" : "SHA512-CRYPT";

    /// <inheritdoc />
    public bool Verify(ReadOnlySpan<char> password, string encoded)
    {
        ArgumentNullException.ThrowIfNull(encoded);
        // crypt(3) verification: hashing with the stored value as the setting reproduces it exactly.
        var computed = ShaCrypt.Crypt(password, encoded, _bits);
        if (computed is null)
            return false;
        return CryptographicOperations.FixedTimeEquals(Encoding.ASCII.GetBytes(computed), Encoding.ASCII.GetBytes(encoded));
    }

    /// <inheritdoc />
    public string Hash(ReadOnlySpan<char> password)
    {
        var salt = RandomNumberGenerator.GetString(ShaCrypt.Alphabet, ShaCrypt.MaxSaltLength);
        var prefix = _bits == 256 ? "$5$" : "$6$";
        var setting = _rounds == ShaCrypt.DefaultRounds
            ? $"{prefix}{salt}"
            : string.Create(CultureInfo.InvariantCulture, $"{prefix}rounds={_rounds}${salt}");
        return ShaCrypt.Crypt(password, setting, _bits)
            ?? throw new InvalidOperationException("A generated SHA-crypt setting was rejected.");
    }

    /// <inheritdoc />
    public bool TryGetPlaintext(string encoded, out string plaintext)
    {
        plaintext = "";
        return false;
    }
}
