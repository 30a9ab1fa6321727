using System.Text;

namespace Restante.Protocol;

/// <summary>Strict UTF-8 decoding of client arguments: malformed input is refused, never patched with U+FFFD.</summary>
public static class Utf8Text
{
    private static readonly UTF8Encoding s_strict = new(encoderShouldEmitUTF8Identifier: false, throwOnInvalidBytes: true);

    /// <summary>False for malformed UTF-8 (RFC 3629), or a control character unless <paramref name="allowControls"/>.</summary>
    public static bool TryDecode(ReadOnlySpan<byte> bytes, bool allowControls, out string text)
    {
        text = string.Empty;
        if (!allowControls)
            foreach (var b in bytes)
                if (b is < 0x20 or 0x7F) return false;
        try
        {
            text = s_strict.GetString(bytes);
            return true;
        }
        catch (DecoderFallbackException)
        {
            return false;
        }
    }
}
