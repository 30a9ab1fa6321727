using System.Text;

namespace Restante.Protocol;

/// <summary>
/// Makes a value a client chose (a user name, a SASL mechanism, an address, a HELO name, a command
/// argument, a file name in a user-writable Maildir) safe to put in a log line. The result is one
/// token of printable ASCII: no line end can start a forged line, no space can make client text read
/// like the server's own words ("Blocked login attempts from 198.51.100.23 after"), and the length
/// is bounded, so tools that parse the log (fail2ban, grep) only ever see what the server wrote.
/// </summary>
/// <remarks>
/// Every octet outside '!'..'~' becomes <c>\xHH</c> (text is taken as its UTF-8 octets) and a
/// backslash becomes <c>\\</c>, so the escaping can be read back without doubt. An empty value is
/// shown as <c>""</c>. A value longer than the limit is cut on a whole escape and ends in <see cref="CutMarker"/>.
/// </remarks>
public static class LogText
{
    /// <summary>User names, SASL mechanism names, command verbs and arguments, HELO names.</summary>
    public const int NameLimit = 64;

    /// <summary>Mail addresses: RFC 5321 §4.5.3.1.3 allows a path of 256 octets.</summary>
    public const int AddressLimit = 256;

    /// <summary>File paths, which may end in a name a user chose inside their own Maildir.</summary>
    public const int PathLimit = 512;

    /// <summary>Ends a value that was cut at its limit.</summary>
    public const string CutMarker = "...[cut]";

    private const string Empty = "\"\"";

    /// <summary>The escaped form of <paramref name="value"/>, at most <paramref name="limit"/> characters plus <see cref="CutMarker"/>.</summary>
    public static string Of(string? value, int limit = NameLimit)
    {
        if (string.IsNullOrEmpty(value)) return Empty;
        if (IsClean(value, limit)) return value;
        // Lone surrogates become U+FFFD: what is logged is always valid UTF-8 octets.
        return Of(Encoding.UTF8.GetBytes(value), limit);
    }

    /// <summary>
    /// A mail address for a template that brackets it (<c>from=&lt;{Sender}&gt;</c>): the null path stays
    /// empty and reads "&lt;&gt;" as in the protocol.
    /// </summary>
    public static string Address(string? value) => string.IsNullOrEmpty(value) ? string.Empty : Of(value, AddressLimit);

    /// <summary>The escaped form of raw client octets, at most <paramref name="limit"/> characters plus <see cref="CutMarker"/>.</summary>
    public static string Of(ReadOnlySpan<byte> value, int limit = NameLimit)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(limit, 4);
        if (value.IsEmpty) return Empty;
        var builder = new StringBuilder(Math.Min(value.Length, limit) + CutMarker.Length);
        foreach (var b in value)
        {
            var width = b == (byte)'\\' ? 2 : IsPlain(b) ? 1 : 4;
            if (builder.Length + width > limit) return builder.Append(CutMarker).ToString();
            if (b == (byte)'\\') builder.Append(@"\\");
            else if (IsPlain(b)) builder.Append((char)b);
            else builder.Append(@"\x").Append(b.ToString("x2", System.Globalization.CultureInfo.InvariantCulture));
        }
        return builder.ToString();
    }

    // Printable ASCII without the space; the backslash is plain text but needs doubling.
    private static bool IsPlain(byte b) => b is >= 0x21 and <= 0x7E and not (byte)'\\';

    // The common case (a well-formed user name) costs no allocation.
    private static bool IsClean(string value, int limit)
    {
        if (value.Length > limit) return false;
        foreach (var c in value)
            if (c is < '!' or > '~' or '\\') return false;
        return true;
    }
}
