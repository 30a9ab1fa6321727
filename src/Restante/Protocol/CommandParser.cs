namespace Restante.Protocol;

/// <summary>Splits a command line into keyword and argument text. No I/O, no allocation.</summary>
public static class CommandParser
{
    /// <summary>
    /// RFC 1939 §3: a case-insensitive keyword of three or four characters, then arguments separated
    /// by single spaces. The arguments are returned as one span because PASS takes the whole rest of
    /// the line, spaces included. Trailing spaces are removed, except after PASS: RFC 1939 §7 lets a
    /// password contain spaces, and a space at its end is as much a part of it as any other (only
    /// the CRLF, already gone, ends the line).
    /// </summary>
    public static Pop3Verb Parse(ReadOnlySpan<byte> line, out ReadOnlySpan<byte> arguments)
    {
        var space = line.IndexOf((byte)' ');
        var keyword = space < 0 ? line : line[..space];
        arguments = space < 0 ? default : line[(space + 1)..];
        var verb = Recognise(keyword);
        if (verb != Pop3Verb.Pass) arguments = arguments.TrimEnd((byte)' ');
        return verb;
    }

    public static Pop3Verb Recognise(ReadOnlySpan<byte> keyword)
    {
        if (keyword.Length is < 3 or > 4) return Pop3Verb.Unknown;
        // Fold ASCII letters to upper case; anything else cannot match a keyword anyway.
        Span<byte> upper = stackalloc byte[4];
        for (var i = 0; i < keyword.Length; i++)
        {
            var b = keyword[i];
            upper[i] = b is >= (byte)'a' and <= (byte)'z' ? (byte)(b - 32) : b;
        }
        var k = upper[..keyword.Length];
        return k switch
        {
            _ when k.SequenceEqual("USER"u8) => Pop3Verb.User,
            _ when k.SequenceEqual("PASS"u8) => Pop3Verb.Pass,
            _ when k.SequenceEqual("APOP"u8) => Pop3Verb.Apop,
            _ when k.SequenceEqual("AUTH"u8) => Pop3Verb.Auth,
            _ when k.SequenceEqual("STLS"u8) => Pop3Verb.Stls,
            _ when k.SequenceEqual("CAPA"u8) => Pop3Verb.Capa,
            _ when k.SequenceEqual("QUIT"u8) => Pop3Verb.Quit,
            _ when k.SequenceEqual("STAT"u8) => Pop3Verb.Stat,
            _ when k.SequenceEqual("LIST"u8) => Pop3Verb.List,
            _ when k.SequenceEqual("RETR"u8) => Pop3Verb.Retr,
            _ when k.SequenceEqual("DELE"u8) => Pop3Verb.Dele,
            _ when k.SequenceEqual("NOOP"u8) => Pop3Verb.Noop,
            _ when k.SequenceEqual("RSET"u8) => Pop3Verb.Rset,
            _ when k.SequenceEqual("TOP"u8) => Pop3Verb.Top,
            _ when k.SequenceEqual("UIDL"u8) => Pop3Verb.Uidl,
            _ when k.SequenceEqual("LAST"u8) => Pop3Verb.Last,
            _ when k.SequenceEqual("UTF8"u8) => Pop3Verb.Utf8,
            _ when k.SequenceEqual("LANG"u8) => Pop3Verb.Lang,
            _ => Pop3Verb.Unknown,
        };
    }

    /// <summary>Splits the next space-separated argument off <paramref name="arguments"/>.</summary>
    public static ReadOnlySpan<byte> NextArgument(ref ReadOnlySpan<byte> arguments)
    {
        var space = arguments.IndexOf((byte)' ');
        ReadOnlySpan<byte> first;
        if (space < 0)
        {
            first = arguments;
            arguments = default;
        }
        else
        {
            first = arguments[..space];
            arguments = arguments[(space + 1)..];
        }
        return first;
    }
}
