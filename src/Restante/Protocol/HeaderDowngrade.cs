using System.Globalization;
using System.Text;

namespace Restante.Protocol;

/// <summary>
/// Rewrites a message header that carries raw UTF-8 (RFC 6532) into one an ASCII-only client can read, for POP3
/// sessions that did not send UTF8 (RFC 6856 §2.1: such a client gets "a surrogate message that complies with
/// unextended POP and Internet Mail Format", or -ERR). No I/O; the caller bounds the header's size. Field by field:
/// <list type="bullet">
/// <item>ASCII fields, and fields whose 8-bit octets are not UTF-8 (legacy mail in some other charset, which this
/// cannot tell apart), are copied as they are.</item>
/// <item>Unstructured fields (Subject, Comments, Content-Description, and every field RFC 5322 §3.6.8 calls optional,
/// X-* included) become RFC 2047 encoded-words.</item>
/// <item>Address fields (From, Sender, Reply-To, To, Cc, Bcc and their Resent- forms): a UTF-8 display name becomes
/// encoded-words; a UTF-8 domain with an ASCII local part becomes its IDNA A-label; an address whose local part is
/// UTF-8 cannot be written in ASCII at all and becomes an empty group whose display name is the encoded address
/// (<c>=?UTF-8?B?...?= :;</c>), as RFC 6857 §3 does, so the reader still sees who it was.</item>
/// <item>Message identifiers and trace fields (Message-ID, In-Reply-To, References, Resent-Message-ID, Received,
/// Return-Path) are renamed Downgraded-Name with the value as encoded-words (RFC 6857's Downgraded- fields): an
/// encoded-word is not allowed inside a msg-id, and a changed id would no longer thread.</item>
/// <item>Anything else with UTF-8 (MIME fields such as Content-Type whose parameters would need RFC 2231, Date,
/// groups): not downgraded; the caller answers -ERR [UTF8] (RFC 6856 §5).</item>
/// </list>
/// Only the top-level header is rewritten; the body, MIME part headers included, goes out as stored (8-bit bodies
/// are legal without UTF8: RFC 6856 concerns headers and protocol strings).
/// </summary>
public static class HeaderDowngrade
{
    private static readonly HashSet<string> s_addressFields = new(StringComparer.OrdinalIgnoreCase)
    {
        "From", "Sender", "Reply-To", "To", "Cc", "Bcc", "Resent-From", "Resent-Sender", "Resent-To", "Resent-Cc", "Resent-Bcc",
    };

    private static readonly HashSet<string> s_renamedFields = new(StringComparer.OrdinalIgnoreCase)
    {
        "Message-ID", "In-Reply-To", "References", "Resent-Message-ID", "Received", "Return-Path",
    };

    private static readonly HashSet<string> s_refusedFields = new(StringComparer.OrdinalIgnoreCase)
    {
        "Date", "Resent-Date", "MIME-Version", "Content-Type", "Content-Transfer-Encoding", "Content-Disposition", "Content-ID",
    };

    public enum Outcome
    {
        /// <summary>Nothing to do: no field holds raw UTF-8.</summary>
        Unchanged,
        Downgraded,
        /// <summary>A field holds UTF-8 this cannot express in ASCII.</summary>
        Impossible,
    }

    /// <param name="header">The header up to and including the empty line that ends it.</param>
    /// <param name="downgraded">The new header with CRLF line ends, empty line included; set only for Downgraded.</param>
    public static Outcome TryDowngrade(ReadOnlySpan<byte> header, out byte[] downgraded)
    {
        downgraded = [];
        if (header.IndexOfAnyInRange((byte)0x80, (byte)0xFF) < 0) return Outcome.Unchanged;
        var output = new StringBuilder(header.Length * 2);
        var changed = false;
        var position = 0;
        while (position < header.Length)
        {
            var end = FieldEnd(header, position);
            var field = header[position..end];
            position = end;
            if (IsEmptyLine(field))
            {
                output.Append("\r\n");
                break;
            }
            // A field's line ends and folding whitespace are control characters: allowed here.
            if (field.IndexOfAnyInRange((byte)0x80, (byte)0xFF) < 0 || !Utf8Text.TryDecode(field, allowControls: true, out var text))
            {
                output.Append(Encoding.Latin1.GetString(field));
                continue;
            }
            if (!TryDowngradeField(text, output)) return Outcome.Impossible;
            changed = true;
        }
        if (!changed) return Outcome.Unchanged;
        downgraded = Encoding.Latin1.GetBytes(output.ToString());
        return Outcome.Downgraded;
    }

    private static bool TryDowngradeField(string field, StringBuilder output)
    {
        var colon = field.IndexOf(':', StringComparison.Ordinal);
        if (colon <= 0) return false;
        var name = field[..colon];
        if (!IsAsciiFieldName(name)) return false;
        // Unfold (RFC 5322 §2.2.3): a line end before whitespace is not part of the value.
        var value = field[(colon + 1)..].Replace("\r\n", "", StringComparison.Ordinal).Replace("\n", "", StringComparison.Ordinal).Trim();
        if (s_refusedFields.Contains(name)) return false;
        if (s_addressFields.Contains(name))
        {
            output.Append(name).Append(": ");
            if (!TryAppendAddressList(output, value)) return false;
        }
        else if (s_renamedFields.Contains(name))
        {
            output.Append("Downgraded-").Append(name).Append(": ");
            EncodedWords.Append(output, value, "Downgraded-".Length + name.Length + 2);
        }
        else
        {
            output.Append(name).Append(": ");
            EncodedWords.Append(output, value, name.Length + 2);
        }
        output.Append("\r\n");
        return true;
    }

    private static bool TryAppendAddressList(StringBuilder output, string value)
    {
        var first = true;
        foreach (var part in SplitTopLevel(value))
        {
            if (part is null) return false;   // a group or unbalanced syntax
            if (!first) output.Append(",\r\n ");
            first = false;
            var mailbox = part.Trim();
            if (IsAscii(mailbox))
            {
                output.Append(mailbox);
                continue;
            }
            string display;
            string address;
            var open = mailbox.LastIndexOf('<');
            if (open >= 0 && mailbox.EndsWith('>'))
            {
                display = Unquote(mailbox[..open].Trim());
                address = mailbox[(open + 1)..^1].Trim();
            }
            else
            {
                display = string.Empty;
                address = mailbox;
            }

            var asciiAddress = ToAsciiAddress(address);
            if (asciiAddress is null)
            {
                // No ASCII form: an empty group named after the original mailbox (RFC 6857 §3).
                EncodedWords.Append(output, display.Length > 0 ? $"{display} <{address}>" : address, 40);
                output.Append(" :;");
                continue;
            }
            if (display.Length > 0)
            {
                if (IsAscii(display)) output.Append(Quote(display));
                else EncodedWords.Append(output, display, 40);
                output.Append(' ');
                output.Append('<').Append(asciiAddress).Append('>');
            }
            else
            {
                output.Append(asciiAddress);
            }
        }
        return true;
    }

    /// <summary>The address with its domain as an A-label; null when the local part is not ASCII or the domain is no IDN.</summary>
    private static string? ToAsciiAddress(string address)
    {
        if (IsAscii(address)) return address;
        var at = address.LastIndexOf('@');
        if (at <= 0 || !IsAscii(address[..at])) return null;
        try
        {
            return string.Concat(address.AsSpan(0, at + 1), new IdnMapping().GetAscii(address[(at + 1)..]));
        }
        catch (Exception ex) when (ex is ArgumentException or PlatformNotSupportedException)
        {
            // Not a valid IDN, or no IDNA in this process (invariant globalization): no ASCII form, so a group.
            return null;
        }
    }

    /// <summary>Commas outside quotes, angle brackets and comments; a null part for a group (':' at top level) or bad nesting.</summary>
    private static IEnumerable<string?> SplitTopLevel(string value)
    {
        var start = 0;
        var quoted = false;
        var angle = 0;
        var comment = 0;
        for (var i = 0; i < value.Length; i++)
        {
            var c = value[i];
            if (quoted)
            {
                if (c == '\\') i++;
                else if (c == '"') quoted = false;
                continue;
            }
            switch (c)
            {
                case '"': quoted = true; break;
                case '(': comment++; break;
                case ')': comment--; break;
                case '<': angle++; break;
                case '>': angle--; break;
                case ':' when angle == 0 && comment == 0:
                    yield return null;
                    yield break;
                case ',' when angle == 0 && comment == 0:
                    yield return value[start..i];
                    start = i + 1;
                    break;
            }
        }
        if (quoted || angle != 0 || comment != 0)
        {
            yield return null;
            yield break;
        }
        if (value.Length > start || start == 0) yield return value[start..];
    }

    private static string Unquote(string phrase)
    {
        if (phrase.Length < 2 || phrase[0] != '"' || phrase[^1] != '"') return phrase;
        var builder = new StringBuilder(phrase.Length);
        for (var i = 1; i < phrase.Length - 1; i++)
        {
            if (phrase[i] == '\\' && i + 1 < phrase.Length - 1) i++;
            builder.Append(phrase[i]);
        }
        return builder.ToString();
    }

    private static string Quote(string display)
        => display.StartsWith('"') ? display : "\"" + display.Replace("\\", "\\\\", StringComparison.Ordinal).Replace("\"", "\\\"", StringComparison.Ordinal) + "\"";

    private static bool IsAscii(string text)
    {
        foreach (var c in text)
            if (c > 0x7F) return false;
        return true;
    }

    private static bool IsAsciiFieldName(string name)
    {
        foreach (var c in name)
            if (c is < '!' or > '~') return false;
        return true;
    }

    private static bool IsEmptyLine(ReadOnlySpan<byte> line) => line.SequenceEqual("\r\n"u8) || line.SequenceEqual("\n"u8);

    /// <summary>Where the field starting at <paramref name="start"/> ends: after its last line (continuation lines start with SP or HT).</summary>
    private static int FieldEnd(ReadOnlySpan<byte> header, int start)
    {
        var position = start;
        do
        {
            var lf = header[position..].IndexOf((byte)'\n');
            if (lf < 0) return header.Length;
            position += lf + 1;
            if (IsEmptyLine(header[start..position])) return position;   // the empty line that ends the header
        }
        while (position < header.Length && header[position] is (byte)' ' or (byte)'\t');
        return position;
    }

    /// <summary>
    /// The length of the header in <paramref name="data"/>, the empty line that ends it included; -1 when it does not
    /// end inside <paramref name="data"/>.
    /// </summary>
    public static int HeaderLength(ReadOnlySpan<byte> data)
    {
        var position = 0;
        while (position < data.Length)
        {
            var lf = data[position..].IndexOf((byte)'\n');
            if (lf < 0) return -1;
            var line = data.Slice(position, lf + 1);
            position += lf + 1;
            if (IsEmptyLine(line)) return position;
        }
        return -1;
    }
}
