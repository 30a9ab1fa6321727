using System.Security.Cryptography;
using System.Text;

namespace Restante.Auth;

/// <summary>
/// RFC 1939 §7: the APOP digest is MD5(timestamp + shared secret) as 32 lower-case hex digits, where the timestamp is
/// the "&lt;…&gt;" string from the server greeting, angle brackets included.
/// <code>
/// S: +OK POP3 server ready &lt;1896.697170952@dbc.mtview.ca.us&gt;
/// C: APOP mrose c4c9334bac560ecc979e58001b3e22fb
/// </code>
/// </summary>
public static class ApopDigest
{
    /// <summary>The digest a client holding <paramref name="secret"/> would send.</summary>
    public static string Compute(string timestamp, string secret)
    {
        var digest = Hash(timestamp, secret);
        var hex = Convert.ToHexStringLower(digest);
        CryptographicOperations.ZeroMemory(digest);
        return hex;
    }

    /// <summary>
    /// True when <paramref name="clientDigestHex"/> is the digest for this timestamp and secret. Hex case is ignored
    /// (RFC 1939 writes lower case but clients vary); the comparison of the digest bytes takes constant time.
    /// </summary>
    public static bool Matches(string timestamp, string secret, string clientDigestHex)
    {
        ArgumentNullException.ThrowIfNull(clientDigestHex);
        var expected = Hash(timestamp, secret);
        try
        {
            // Decoding (not comparing strings) makes upper and lower case equal without a case-folding compare.
            Span<byte> client = stackalloc byte[16];
            if (clientDigestHex.Length != 32
                || Convert.FromHexString(clientDigestHex, client, out _, out var written) != System.Buffers.OperationStatus.Done
                || written != 16)
            {
                return false;
            }
            return CryptographicOperations.FixedTimeEquals(expected, client);
        }
        finally
        {
            CryptographicOperations.ZeroMemory(expected);
        }
    }

    private static byte[] Hash(string timestamp, string secret)
    {
        ArgumentNullException.ThrowIfNull(timestamp);
        ArgumentNullException.ThrowIfNull(secret);
        // RFC 1939 leaves the secret's charset open; UTF-8 is what clients send for non-ASCII secrets.
        var input = Encoding.UTF8.GetBytes(timestamp + secret);
        try
        {
#pragma warning disable CA5351 // RFC 1939 §7 mandates MD5; APOP's weakness is why it is only offered for PLAIN users.
            return MD5.HashData(input);
#pragma warning restore CA5351
        }
        finally
        {
            CryptographicOperations.ZeroMemory(input);
        }
    }
}
