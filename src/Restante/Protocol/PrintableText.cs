using System.Text;

namespace Restante.Protocol;

/// <summary>Turns client bytes into text that is safe to echo in a reply or a log line.</summary>
public static class PrintableText
{
    public static string From(ReadOnlySpan<byte> bytes, int maxLength = 40)
    {
        var length = Math.Min(bytes.Length, maxLength);
        var builder = new StringBuilder(length + 3);
        for (var i = 0; i < length; i++)
        {
            var b = bytes[i];
            builder.Append(b is >= 0x20 and <= 0x7E ? (char)b : '?');
        }
        if (bytes.Length > maxLength) builder.Append("...");
        return builder.ToString();
    }

    /// <summary>Decodes an argument that must be printable ASCII (user names, digests); false otherwise.</summary>
    public static bool TryDecodeAscii(ReadOnlySpan<byte> bytes, out string text)
    {
        foreach (var b in bytes)
        {
            if (b is < 0x21 or > 0x7E)
            {
                text = string.Empty;
                return false;
            }
        }
        text = Encoding.ASCII.GetString(bytes);
        return true;
    }
}
