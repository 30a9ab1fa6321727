using System.Globalization;
using System.Security.Cryptography;
using System.Text;

namespace Restante.Auth;

/// <summary>
/// The "$5$" / "$6$" crypt functions, written from Ulrich Drepper's public specification
/// "Unix crypt using SHA-256 and SHA-512" (the step numbers below are the spec's). The result must match
/// glibc/libxcrypt byte for byte, because the hashes come from Dovecot's <c>doveadm pw</c> and <c>mkpasswd</c>.
/// </summary>
internal static class ShaCrypt
{
    public const int DefaultRounds = 5000;
    public const int MinRounds = 1000;
    public const int MaxRounds = 999_999_999;
    public const int MaxSaltLength = 16;

    private const string RoundsPrefix = "rounds=";

    // The spec's base-64 alphabet; note it is not RFC 4648's (digits and letters come after "./").
    internal const string Alphabet = "./0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

    // Step 22e: the digest bytes are emitted three at a time in this scrambled order, each triple as 4 characters
    // (the last group is shorter). Listed exactly as the spec gives them rather than derived, so it is easy to check.
    private static readonly int[][] Sha256Order =
    [
        [0, 10, 20], [21, 1, 11], [12, 22, 2], [3, 13, 23], [24, 4, 14],
        [15, 25, 5], [6, 16, 26], [27, 7, 17], [18, 28, 8], [9, 19, 29],
    ];

    private static readonly int[][] Sha512Order =
    [
        [0, 21, 42], [22, 43, 1], [44, 2, 23], [3, 24, 45], [25, 46, 4], [47, 5, 26], [6, 27, 48],
        [28, 49, 7], [50, 8, 29], [9, 30, 51], [31, 52, 10], [53, 11, 32], [12, 33, 54], [34, 55, 13],
        [56, 14, 35], [15, 36, 57], [37, 58, 16], [59, 17, 38], [18, 39, 60], [40, 61, 19], [62, 20, 41],
    ];

    /// <summary>
    /// Like crypt(3): <paramref name="setting"/> is "$5$[rounds=N$]salt[$anything]" and the result is the full
    /// "$5$[rounds=N$]salt$hash" string, or null when the setting is malformed. Passing a stored hash as the setting
    /// reproduces it for the right password, which is how verification works.
    /// </summary>
    public static string? Crypt(ReadOnlySpan<char> password, string setting, int bits)
    {
        var prefix = bits == 256 ? "$5$" : "$6$";
        if (!setting.StartsWith(prefix, StringComparison.Ordinal))
            return null;
        var rest = setting.AsSpan(prefix.Length);

        var rounds = DefaultRounds;
        var customRounds = false;
        if (rest.StartsWith(RoundsPrefix, StringComparison.Ordinal))
        {
            var digits = rest[RoundsPrefix.Length..];
            var end = digits.IndexOfAnyExceptInRange('0', '9');
            // As in the spec: "rounds=" only counts when digits and a '$' follow; otherwise it is part of the salt.
            if (end > 0 && digits[end] == '$')
            {
                rounds = ClampRounds(digits[..end]);
                customRounds = true;
                rest = digits[(end + 1)..];
            }
        }

        var saltEnd = rest.IndexOf('$');
        var salt = saltEnd < 0 ? rest : rest[..saltEnd];
        if (salt.Length > MaxSaltLength)
            salt = salt[..MaxSaltLength];   // the spec truncates long salts silently
        foreach (var c in salt)
        {
            // Salts are ASCII in practice; refusing the rest keeps "16 characters" and "16 bytes" the same thing.
            if (c is < '!' or > '~' || c == ':')
                return null;
        }

        var key = new byte[Encoding.UTF8.GetByteCount(password)];
        Encoding.UTF8.GetBytes(password, key);
        var saltBytes = Encoding.ASCII.GetBytes(salt.ToString());
        try
        {
            var digest = Compute(key, saltBytes, rounds, bits);
            var output = new StringBuilder(prefix.Length + 16 + MaxSaltLength + 1 + 86);
            output.Append(prefix);
            if (customRounds)
                output.Append(CultureInfo.InvariantCulture, $"{RoundsPrefix}{rounds}$");
            output.Append(salt).Append('$');
            AppendEncoded(output, digest, bits);
            CryptographicOperations.ZeroMemory(digest);
            return output.ToString();
        }
        finally
        {
            CryptographicOperations.ZeroMemory(key);
        }
    }

    private static int ClampRounds(ReadOnlySpan<char> digits)
    {
        // Out-of-range counts are clamped, not rejected (spec: "rounds=10" computes and prints 1000).
        if (digits.Length > 9)
            return MaxRounds;
        var value = int.Parse(digits, NumberStyles.None, CultureInfo.InvariantCulture);
        return Math.Clamp(value, MinRounds, MaxRounds);
    }

    private static byte[] Compute(byte[] key, byte[] salt, int rounds, int bits)
    {
        var algorithm = bits == 256 ? HashAlgorithmName.SHA256 : HashAlgorithmName.SHA512;
        var n = bits / 8;
        using var h = IncrementalHash.CreateHash(algorithm);

        // Steps 4–8: digest B = SHA(key salt key).
        h.AppendData(key);
        h.AppendData(salt);
        h.AppendData(key);
        var b = h.GetHashAndReset();

        // Steps 1–3, 9–12: digest A = SHA(key salt, B repeated to the key's length, then one item per bit of the length).
        h.AppendData(key);
        h.AppendData(salt);
        int count;
        for (count = key.Length; count > n; count -= n)
            h.AppendData(b);
        h.AppendData(b, 0, count);
        for (count = key.Length; count > 0; count >>= 1)
        {
            if ((count & 1) != 0)
                h.AppendData(b);
            else
                h.AppendData(key);
        }
        var a = h.GetHashAndReset();

        // Steps 13–16: P is DP = SHA(key repeated key-length times), stretched or cut to the key's length.
        for (var i = 0; i < key.Length; i++)
            h.AppendData(key);
        var dp = h.GetHashAndReset();
        var p = Stretch(dp, key.Length);

        // Steps 17–20: S is DS = SHA(salt repeated 16 + A[0] times), cut to the salt's length.
        for (var i = 0; i < 16 + a[0]; i++)
            h.AppendData(salt);
        var ds = h.GetHashAndReset();
        var s = Stretch(ds, salt.Length);

        // Step 21: the stretching loop; C starts as A.
        var c = a;
        for (var round = 0; round < rounds; round++)
        {
            var odd = (round & 1) != 0;
            h.AppendData(odd ? p : c);
            if (round % 3 != 0)
                h.AppendData(s);
            if (round % 7 != 0)
                h.AppendData(p);
            h.AppendData(odd ? c : p);
            if (!h.TryGetHashAndReset(c, out _))
                throw new CryptographicException("Digest buffer too small.");
        }

        CryptographicOperations.ZeroMemory(b);
        CryptographicOperations.ZeroMemory(dp);
        CryptographicOperations.ZeroMemory(p);
        CryptographicOperations.ZeroMemory(ds);
        CryptographicOperations.ZeroMemory(s);
        return c;
    }

    private static byte[] Stretch(byte[] digest, int length)
    {
        var result = new byte[length];
        for (var offset = 0; offset < length; offset += digest.Length)
            digest.AsSpan(0, Math.Min(digest.Length, length - offset)).CopyTo(result.AsSpan(offset));
        return result;
    }

    private static void AppendEncoded(StringBuilder output, byte[] digest, int bits)
    {
        foreach (var group in bits == 256 ? Sha256Order : Sha512Order)
            AppendBase64(output, digest[group[0]], digest[group[1]], digest[group[2]], 4);
        if (bits == 256)
            AppendBase64(output, 0, digest[31], digest[30], 3);
        else
            AppendBase64(output, 0, 0, digest[63], 2);
    }

    // The spec's b64_from_24bit: least significant six bits first.
    private static void AppendBase64(StringBuilder output, byte b2, byte b1, byte b0, int characters)
    {
        var w = (b2 << 16) | (b1 << 8) | b0;
        for (var i = 0; i < characters; i++)
        {
            output.Append(Alphabet[w & 0x3f]);
            w >>= 6;
        }
    }
}
