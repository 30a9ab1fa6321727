using System.Security.Cryptography;
using System.Text;

namespace Restante.Auth;

/// <summary>
/// "{BLF-CRYPT}$2y$10$…": bcrypt, the default for new users. Dovecot writes the "$2y$" prefix; "$2a$" and "$2b$"
/// (other crypt libraries) compute the same function for UTF-8 input and verify too. "$2x$" is refused on purpose:
/// it names the old sign-extension bug, and verifying it like "$2a$" would accept the wrong passwords.
/// </summary>
public sealed class BlfCryptScheme : IPasswordScheme
{
    /// <summary>The cost new hashes get: 2^10 rounds, about 50–100 ms on a server core.</summary>
    public const int DefaultCost = 10;

    // "$2y$" + two-digit cost + "$" + 22 salt characters + 31 hash characters.
    private const int EncodedLength = 60;

    private readonly int _cost;

    /// <param name="cost">log2 of the rounds, 4–31. Tests use 4 to stay fast; production keeps <see cref="DefaultCost"/>.</param>
    public BlfCryptScheme(int cost = DefaultCost)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(cost, 4);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(cost, 31);
        _cost = cost;
    }

    /// <inheritdoc />
    public string Name => "BLF-CRYPT";

    /// <inheritdoc />
    public bool Verify(ReadOnlySpan<char> password, string encoded)
    {
        ArgumentNullException.ThrowIfNull(encoded);
        if (!IsWellFormed(encoded))
            return false;
        string computed;
        try
        {
            // HashPassword takes the revision, cost and salt from the stored value, so the result is comparable byte for byte.
            computed = BCrypt.Net.BCrypt.HashPassword(password.ToString(), encoded);
        }
        catch (BCrypt.Net.SaltParseException)
        {
            return false;
        }
        return CryptographicOperations.FixedTimeEquals(Encoding.ASCII.GetBytes(computed), Encoding.ASCII.GetBytes(encoded));
    }

    /// <inheritdoc />
    public string Hash(ReadOnlySpan<char> password)
        => BCrypt.Net.BCrypt.HashPassword(password.ToString(), BCrypt.Net.BCrypt.GenerateSalt(_cost, 'y'));

    /// <inheritdoc />
    public bool TryGetPlaintext(string encoded, out string plaintext)
    {
        plaintext = "";
        return false;
    }

    // Checked here rather than trusting the library's parser: the library also takes "$2x$" and "$2$".
    private static bool IsWellFormed(string encoded)
    {
        if (encoded.Length != EncodedLength || !encoded.StartsWith("$2", StringComparison.Ordinal))
            return false;
        if (encoded[2] is not ('a' or 'b' or 'y') || encoded[3] != '$' || encoded[6] != '$')
            return false;
        if (!char.IsAsciiDigit(encoded[4]) || !char.IsAsciiDigit(encoded[5]))
            return false;
        var cost = ((encoded[4] - '0') * 10) + (encoded[5] - '0');
        if (cost is < 4 or > 31)
            return false;
        foreach (var c in encoded.AsSpan(7))
        {
            if (!(char.IsAsciiLetterOrDigit(c) || c is '.' or '/'))
                return false;
        }
        return true;
    }
}
