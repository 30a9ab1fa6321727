namespace Restante.Protocol;

/// <summary>Splits an SMTP/LMTP command line into verb and argument text. No I/O, no allocation.</summary>
public static class SmtpCommandParser
{
    /// <summary>
    /// RFC 5321 §4.1.1: verbs are case-insensitive four-letter keywords, separated from their
    /// argument by a space. Trailing spaces are dropped (RFC 5321 §4.1.1 asks servers to be
    /// tolerant of them).
    /// </summary>
    public static SmtpVerb Parse(ReadOnlySpan<byte> line, out Range arguments)
    {
        var space = line.IndexOf((byte)' ');
        var keyword = space < 0 ? line : line[..space];
        var start = space < 0 ? line.Length : space + 1;
        var end = line.Length;
        while (start < end && line[start] == (byte)' ') start++;
        while (end > start && line[end - 1] == (byte)' ') end--;
        arguments = start..end;
        return Recognise(keyword);
    }

    public static SmtpVerb Recognise(ReadOnlySpan<byte> keyword)
    {
        if (keyword.Length != 4) return SmtpVerb.Unknown;
        Span<byte> k = stackalloc byte[4];
        for (var i = 0; i < 4; i++)
        {
            var b = keyword[i];
            k[i] = b is >= (byte)'a' and <= (byte)'z' ? (byte)(b - 32) : b;
        }
        return k switch
        {
            _ when k.SequenceEqual("LHLO"u8) => SmtpVerb.Lhlo,
            _ when k.SequenceEqual("EHLO"u8) => SmtpVerb.Ehlo,
            _ when k.SequenceEqual("HELO"u8) => SmtpVerb.Helo,
            _ when k.SequenceEqual("MAIL"u8) => SmtpVerb.Mail,
            _ when k.SequenceEqual("RCPT"u8) => SmtpVerb.Rcpt,
            _ when k.SequenceEqual("DATA"u8) => SmtpVerb.Data,
            _ when k.SequenceEqual("RSET"u8) => SmtpVerb.Rset,
            _ when k.SequenceEqual("NOOP"u8) => SmtpVerb.Noop,
            _ when k.SequenceEqual("QUIT"u8) => SmtpVerb.Quit,
            _ when k.SequenceEqual("VRFY"u8) => SmtpVerb.Vrfy,
            _ when k.SequenceEqual("HELP"u8) => SmtpVerb.Help,
            _ => SmtpVerb.Unknown,
        };
    }
}
