using System.Security.Cryptography;
using System.Text;

namespace Restante.Auth;

/// <summary>
/// "{CRAM-MD5}64 hex digits": Dovecot's HMAC-MD5 context (see <see cref="CramMd5"/>). Serves PASS/PLAIN (the
/// context is recomputed from the offered password) and the CRAM-MD5 mechanism; not APOP, which needs the password.
/// </summary>
public sealed class CramMd5Scheme : IPasswordScheme
{
    /// <summary>The shared instance; the scheme has no settings (and no salt).</summary>
    public static CramMd5Scheme Instance { get; } = new();

    private CramMd5Scheme()
    {
    }

    /// <inheritdoc />
    public string Name => "CRAM-MD5";

    /// <inheritdoc />
    public bool Verify(ReadOnlySpan<char> password, string encoded)
    {
        if (!TryGetContext(encoded, out var stored)) return false;
        var computed = FromPassword(password);
        var equal = CryptographicOperations.FixedTimeEquals(computed, stored);
        CryptographicOperations.ZeroMemory(computed);
        CryptographicOperations.ZeroMemory(stored);
        return equal;
    }

    /// <inheritdoc />
    public string Hash(ReadOnlySpan<char> password)
    {
        var context = FromPassword(password);
        var hex = Convert.ToHexStringLower(context);
        CryptographicOperations.ZeroMemory(context);
        return hex;
    }

    /// <inheritdoc />
    public bool TryGetPlaintext(string encoded, out string plaintext)
    {
        plaintext = "";
        return false;
    }

    /// <summary>The 32-byte context stored in <paramref name="encoded"/>; false when it is not 64 hex digits.</summary>
    public static bool TryGetContext(string encoded, out byte[] context)
    {
        ArgumentNullException.ThrowIfNull(encoded);
        context = new byte[CramMd5.ContextLength];
        return encoded.Length == CramMd5.ContextLength * 2
            && Convert.FromHexString(encoded, context, out _, out var written) == System.Buffers.OperationStatus.Done
            && written == CramMd5.ContextLength;
    }

    internal static byte[] FromPassword(ReadOnlySpan<char> password)
    {
        var bytes = new byte[Encoding.UTF8.GetByteCount(password)];
        Encoding.UTF8.GetBytes(password, bytes);
        var context = CramMd5.ContextFromPassword(bytes);
        CryptographicOperations.ZeroMemory(bytes);
        return context;
    }
}
