using System.Text;

namespace Restante.Auth.Sasl;

/// <summary>Strict UTF-8 for SASL messages: malformed bytes are a failed exchange, not replacement characters.</summary>
internal static class SaslText
{
    private static readonly UTF8Encoding s_strict = new(encoderShouldEmitUTF8Identifier: false, throwOnInvalidBytes: true);

    public static bool TryDecode(ReadOnlySpan<byte> bytes, out string text)
    {
        try
        {
            text = s_strict.GetString(bytes);
            return true;
        }
        catch (DecoderFallbackException)
        {
            text = "";
            return false;
        }
    }

    public static byte[] Encode(string text) => s_strict.GetBytes(text);
}
