using System.Text;

namespace Restante.Protocol;

/// <summary>
/// RFC 2047 encoded-words, "=?UTF-8?B?...?=", for text that may not go out as raw UTF-8. Each word holds at most 45
/// octets of UTF-8 (60 base64 characters, 72 with the delimiters: under §2's 75), split only between characters, and
/// words after the first go on continuation lines (CRLF SP), so no line passes 76 characters (§2). Whitespace between
/// adjacent encoded-words is not part of the text (§6.2), so spaces inside the text are encoded with it.
/// </summary>
public static class EncodedWords
{
    private const int MaxOctetsPerWord = 45;

    /// <param name="column">Characters already on the current line (a field name and ": "): the first word is made
    /// short enough to keep that line within 76 characters too, or starts on a continuation line.</param>
    public static void Append(StringBuilder output, string text, int column = 0)
    {
        Span<byte> chunk = stackalloc byte[MaxOctetsPerWord];
        Span<byte> runeBytes = stackalloc byte[4];
        // "=?UTF-8?B?" + "?=" is 12 characters; base64 turns 3 octets into 4 characters.
        var firstLimit = Math.Min(MaxOctetsPerWord, (76 - column - 12) / 4 * 3);
        var first = true;
        if (firstLimit < 4)
        {
            output.Append("\r\n ");
            firstLimit = MaxOctetsPerWord;
        }
        var limit = firstLimit;
        var used = 0;
        foreach (var rune in text.EnumerateRunes())
        {
            var n = rune.EncodeToUtf8(runeBytes);
            if (used + n > limit)
            {
                Flush(output, chunk[..used], ref first);
                used = 0;
                limit = MaxOctetsPerWord;
            }
            runeBytes[..n].CopyTo(chunk[used..]);
            used += n;
        }
        if (used > 0 || first) Flush(output, chunk[..used], ref first);
    }

    private static void Flush(StringBuilder output, ReadOnlySpan<byte> octets, ref bool first)
    {
        if (!first) output.Append("\r\n ");
        first = false;
        output.Append("=?UTF-8?B?").Append(Convert.ToBase64String(octets)).Append("?=");
    }
}
