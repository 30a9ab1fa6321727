using System.Globalization;
using System.Text;

namespace Restante.Storage.Maildir;

/// <summary>
/// Dovecot's <c>pop3_uidl_format</c> (2.3 syntax), which builds a message's UIDL from its record in
/// <c>dovecot-uidlist</c>: <c>%u</c> the IMAP uid, <c>%v</c> the mailbox's UIDVALIDITY, <c>%f</c> the
/// file name up to the ':' of its flags, <c>%g</c> the record's G field or else that file name,
/// <c>%%</c> a percent sign.
/// Each variable may carry <c>[0][width]</c> and the modifiers X (the number in lower-case hex, as
/// Dovecot prints it), L and U (case). The default <c>%08Xu%08Xv</c> is uid and uidvalidity, 8 hex
/// digits each. <c>%m</c> (header MD5) is refused: Dovecot serves it for mbox only, so no Maildir
/// ever had such UIDLs.
/// </summary>
internal sealed class DovecotUidlFormat
{
    private readonly Part[] _parts;

    private DovecotUidlFormat(Part[] parts) => _parts = parts;

    private readonly record struct Part(string? Literal, char Key, bool ZeroPad, int Width, int Offset, string Modifiers);

    public static bool TryParse(string format, out DovecotUidlFormat parsed, out string error)
    {
        parsed = new DovecotUidlFormat([]);
        var parts = new List<Part>();
        var literal = new StringBuilder();
        var keys = 0;
        for (var i = 0; i < format.Length; i++)
        {
            if (format[i] != '%')
            {
                literal.Append(format[i]);
                continue;
            }
            if (++i >= format.Length) { error = $"'{format}' ends in a lone '%'."; return false; }
            if (format[i] == '%') { literal.Append('%'); continue; }
            // [-][0][width][.[0][width]] modifiers variable: the shape Dovecot's var_expand reads.
            var sign = 1;
            if (format[i] == '-') { sign = -1; i++; }
            var zeroPad = i < format.Length && format[i] == '0';
            if (zeroPad) i++;
            var width = ReadNumber(format, ref i);
            var offset = 0;
            if (i < format.Length && format[i] == '.')
            {
                offset = sign * width;
                sign = 1;
                i++;
                zeroPad = i < format.Length && format[i] == '0';
                if (zeroPad) i++;
                if (i < format.Length && format[i] == '-') { sign = -1; i++; }
                width = ReadNumber(format, ref i);
            }
            width *= sign;
            var modifiers = new StringBuilder();
            while (i < format.Length && format[i] is 'X' or 'L' or 'U')
                modifiers.Append(format[i++]);
            if (i >= format.Length) { error = $"'{format}' ends inside a variable."; return false; }
            // Dovecot 2.3's doveconf refuses %{…} here ("Unknown pop3_uidl_format variable: %{"),
            // so no 2.3 server served such UIDLs.
            if (format[i] == '{') { error = $"'{format}': Dovecot 2.3 accepts only %u, %v, %f and %g in pop3_uidl_format, not %{{…}}."; return false; }
            var key = format[i];
            if (key == 'm')
            {
                error = "%m (header MD5) is served by Dovecot for mbox only; a Maildir's UIDLs never used it.";
                return false;
            }
            if (key is not ('u' or 'v' or 'f' or 'g'))
            {
                error = $"'%{format[i]}' in '{format}' is not a pop3_uidl_format variable (%u, %v, %f, %g) or a supported modifier (X, L, U).";
                return false;
            }
            if (literal.Length > 0) { parts.Add(new Part(literal.ToString(), '\0', false, 0, 0, "")); literal.Clear(); }
            parts.Add(new Part(null, key, zeroPad, width, offset, modifiers.ToString()));
            keys++;
        }
        if (literal.Length > 0) parts.Add(new Part(literal.ToString(), '\0', false, 0, 0, ""));
        // Dovecot refuses to start with a format that names no message (the same UIDL for all).
        if (keys == 0) { error = $"'{format}' uses none of %u, %v, %f, %g."; return false; }
        parsed = new DovecotUidlFormat([.. parts]);
        error = "";
        return true;
    }

    private static int ReadNumber(string format, ref int i)
    {
        var value = 0;
        while (i < format.Length && char.IsAsciiDigit(format[i]) && value < 10_000) value = value * 10 + (format[i++] - '0');
        return value;
    }

    /// <param name="fileName">The message file's name up to its ':' (Dovecot's storage id).</param>
    /// <param name="guid">The record's G field, or <paramref name="fileName"/> when it has none.</param>
    public string Expand(uint uid, uint uidValidity, string fileName, string guid)
    {
        var result = new StringBuilder();
        foreach (var part in _parts)
        {
            if (part.Literal is not null)
            {
                result.Append(part.Literal);
                continue;
            }
            var value = part.Key switch
            {
                'u' => uid.ToString(CultureInfo.InvariantCulture),
                'v' => uidValidity.ToString(CultureInfo.InvariantCulture),
                'f' => fileName,
                _ => guid,
            };
            foreach (var modifier in part.Modifiers)
            {
                value = modifier switch
                {
                    // Dovecot: strtoull (0 when not a number), printed with "%llx".
                    'X' => (ulong.TryParse(value, NumberStyles.None, CultureInfo.InvariantCulture, out var n) ? n : 0).ToString("x", CultureInfo.InvariantCulture),
                    'L' => value.ToLowerInvariant(),
                    _ => value.ToUpperInvariant(),
                };
            }
            if (part.Offset < 0) value = value.Length > -part.Offset ? value[(value.Length + part.Offset)..] : value;
            else value = part.Offset >= value.Length ? "" : value[part.Offset..];
            if (part.Width == 0) result.Append(value);
            else if (part.ZeroPad) result.Append(value.PadLeft(part.Width, '0'));   // like %05d: pads, never cuts
            else
            {
                var keep = part.Width > 0 ? part.Width : value.Length + part.Width;
                result.Append(value.AsSpan(0, Math.Clamp(keep, 0, value.Length)));
            }
        }
        return result.ToString();
    }
}
