using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using Konscious.Security.Cryptography;

namespace Restante.Auth;

/// <summary>
/// "{ARGON2ID}$argon2id$v=19$m=65536,t=3,p=1$salt$hash": the PHC string format Dovecot writes through libsodium's
/// <c>crypto_pwhash_str</c> (salt and hash in base64 without padding). Computed with Konscious.Security.Cryptography
/// (MIT, fully managed, any parallelism). New hashes use Dovecot's parameters: 64 MiB, 3 passes, 1 lane,
/// 16-byte salt, 32-byte hash.
/// </summary>
public sealed class Argon2idScheme : IPasswordScheme
{
    private const int Version = 19;
    private const int DefaultMemoryKib = 65536;
    private const int DefaultPasses = 3;
    private const int DefaultLanes = 1;
    private const int SaltLength = 16;
    private const int HashLength = 32;

    // A line in the passwd file must not be able to make a login allocate gigabytes or spin for minutes.
    private const int MaxMemoryKib = 1024 * 1024;
    private const int MaxPasses = 64;
    private const int MaxLanes = 64;

    /// <summary>The shared instance with Dovecot's parameters.</summary>
    public static Argon2idScheme Instance { get; } = new();

    private Argon2idScheme()
    {
    }

    /// <inheritdoc />
    public string Name => "ARGON2ID";

    /// <inheritdoc />
    public bool Verify(ReadOnlySpan<char> password, string encoded)
    {
        ArgumentNullException.ThrowIfNull(encoded);
        if (!TryParse(encoded, out var memoryKib, out var passes, out var lanes, out var salt, out var expected))
            return false;
        var actual = Compute(password, salt, memoryKib, passes, lanes, expected.Length);
        var equal = CryptographicOperations.FixedTimeEquals(actual, expected);
        CryptographicOperations.ZeroMemory(actual);
        return equal;
    }

    /// <inheritdoc />
    public string Hash(ReadOnlySpan<char> password)
    {
        var salt = RandomNumberGenerator.GetBytes(SaltLength);
        var hash = Compute(password, salt, DefaultMemoryKib, DefaultPasses, DefaultLanes, HashLength);
        return string.Create(CultureInfo.InvariantCulture,
            $"$argon2id$v={Version}$m={DefaultMemoryKib},t={DefaultPasses},p={DefaultLanes}${Unpadded(salt)}${Unpadded(hash)}");
    }

    /// <inheritdoc />
    public bool TryGetPlaintext(string encoded, out string plaintext)
    {
        plaintext = "";
        return false;
    }

    private static bool TryParse(string encoded, out int memoryKib, out int passes, out int lanes, out byte[] salt, out byte[] hash)
    {
        memoryKib = passes = lanes = 0;
        salt = hash = [];
        // "" "argon2id" "v=19" "m=…,t=…,p=…" salt hash
        var parts = encoded.Split('$');
        if (parts.Length != 6 || parts[0].Length != 0 || parts[1] != "argon2id" || parts[2] != "v=19")
            return false;
        foreach (var parameter in parts[3].Split(','))
        {
            var eq = parameter.IndexOf('=', StringComparison.Ordinal);
            if (eq < 0 || !int.TryParse(parameter.AsSpan(eq + 1), NumberStyles.None, CultureInfo.InvariantCulture, out var value))
                return false;
            switch (parameter[..eq])
            {
                case "m": memoryKib = value; break;
                case "t": passes = value; break;
                case "p": lanes = value; break;
                default: return false;
            }
        }
        if (passes is < 1 or > MaxPasses || lanes is < 1 or > MaxLanes || memoryKib < 8 * lanes || memoryKib > MaxMemoryKib)
            return false;
        return TryDecodeUnpadded(parts[4], out salt) && salt.Length >= 8
            && TryDecodeUnpadded(parts[5], out hash) && hash.Length >= 4;
    }

    private static byte[] Compute(ReadOnlySpan<char> password, byte[] salt, int memoryKib, int passes, int lanes, int length)
    {
        var passwordBytes = new byte[Encoding.UTF8.GetByteCount(password)];
        Encoding.UTF8.GetBytes(password, passwordBytes);
        using var argon = new Argon2id(passwordBytes)
        {
            Salt = salt,
            MemorySize = memoryKib,
            Iterations = passes,
            DegreeOfParallelism = lanes,
        };
        var hash = argon.GetBytes(length);
        CryptographicOperations.ZeroMemory(passwordBytes);
        return hash;
    }

    private static string Unpadded(byte[] bytes) => Convert.ToBase64String(bytes).TrimEnd('=');

    private static bool TryDecodeUnpadded(string text, out byte[] bytes)
    {
        bytes = [];
        if (text.Length == 0 || text.Length % 4 == 1 || text.Contains('=', StringComparison.Ordinal)) return false;
        var padded = text + new string('=', (4 - (text.Length % 4)) % 4);
        try
        {
            bytes = Convert.FromBase64String(padded);
            return true;
        }
        catch (FormatException)
        {
            return false;
        }
    }
}
