using System.Security.Cryptography;
using System.Text;

namespace Restante.Storage.Maildir;

/// <summary>
/// Reads what a Maildir file name says about its message. A name is
/// <c>&lt;base&gt;[,key=value...][:2,flags]</c>, e.g. <c>1700000000.M123P45Q6.host,S=123,W=130:2,S</c>;
/// the base is unique in the mailbox and never changes, while the fields and flags may.
/// </summary>
internal static class MaildirName
{
    // RFC 1939 §7 (UIDL): a unique-id is 1 to 70 characters in the range 0x21 to 0x7E.
    private const int MaxUidLength = 70;
    private const int HashedUidLength = 41;

    /// <summary>The part before the first ':' (the info) and before the first ',' (the fields).</summary>
    public static ReadOnlySpan<char> Base(ReadOnlySpan<char> name)
    {
        var end = name.IndexOfAny(':', ',');
        return end < 0 ? name : name[..end];
    }

    /// <summary>True when <paramref name="name"/> is <paramref name="baseName"/> plus fields or info.</summary>
    public static bool HasBase(ReadOnlySpan<char> name, ReadOnlySpan<char> baseName) =>
        name.StartsWith(baseName, StringComparison.Ordinal)
        && (name.Length == baseName.Length || name[baseName.Length] is ':' or ',');

    /// <summary>
    /// The delivery time in seconds that starts the name (Maildir: "the left part is the time").
    /// False when the name does not start with digits, so such messages sort last.
    /// </summary>
    public static bool TryGetTime(ReadOnlySpan<char> name, out long seconds)
    {
        seconds = 0;
        var digits = 0;
        // 18 digits cannot overflow a long; a longer run is not a time anyone wrote.
        while (digits < name.Length && char.IsAsciiDigit(name[digits]))
        {
            if (++digits > 18) { seconds = 0; return false; }
            seconds = seconds * 10 + (name[digits - 1] - '0');
        }
        return digits > 0;
    }

    /// <summary>
    /// Reads a size field such as <c>,W=130</c> (Dovecot: the size with CRLF line ends) or
    /// <c>,S=123</c> (the file's length) from between the base and the info.
    /// </summary>
    public static bool TryGetField(ReadOnlySpan<char> name, char key, out long value)
    {
        value = 0;
        var info = name.IndexOf(':');
        var rest = info < 0 ? name : name[..info];
        var comma = rest.IndexOf(',');
        if (comma < 0) return false;
        rest = rest[(comma + 1)..];
        while (true)
        {
            var next = rest.IndexOf(',');
            var field = next < 0 ? rest : rest[..next];
            if (field.Length > 2 && field[0] == key && field[1] == '=')
                return long.TryParse(field[2..], System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out value);
            if (next < 0) return false;
            rest = rest[(next + 1)..];
        }
    }

    /// <summary>
    /// The POP3 unique-id for a message whose base name is <paramref name="baseName"/>: the base
    /// itself when it is a legal unique-id, otherwise "X" and the SHA-1 of the base in hex, so the
    /// id stays legal, stable and as unique as the base. A base that itself looks like such a
    /// hash is hashed too, so a real name can never collide with a hashed one.
    /// </summary>
    public static string ToUid(string baseName) => IsPlainUid(baseName) ? baseName : HashedUid(baseName);

    /// <summary>"X" and the SHA-1 of the base name in hex: legal, stable, and never a plain name's UIDL.</summary>
    public static string HashedUid(string baseName)
    {
        Span<byte> hash = stackalloc byte[SHA1.HashSizeInBytes];
        SHA1.HashData(Encoding.UTF8.GetBytes(baseName), hash);
        return string.Concat("X", Convert.ToHexStringLower(hash));
    }

    /// <summary><see cref="IsPlainUid(string)"/> for a base name as UTF-8 bytes: a legal unique-id is ASCII, so the bytes are its characters.</summary>
    public static bool IsPlainUid(ReadOnlySpan<byte> baseName)
    {
        if (baseName.Length is 0 or > MaxUidLength) return false;
        foreach (var b in baseName)
            if (b is < (byte)'!' or > (byte)'~') return false;
        if (baseName.Length != HashedUidLength || baseName[0] != (byte)'X') return true;
        foreach (var b in baseName[1..])
            if (!char.IsAsciiHexDigitLower((char)b)) return true;
        return false;
    }

    /// <summary>The length of <see cref="Base(ReadOnlySpan{char})"/> for a name as UTF-8 bytes (':' and ',' are ASCII).</summary>
    public static int BaseLength(ReadOnlySpan<byte> name)
    {
        var end = name.IndexOfAny((byte)':', (byte)',');
        return end < 0 ? name.Length : end;
    }

    /// <summary><see cref="TryGetTime(ReadOnlySpan{char}, out long)"/> for a name as UTF-8 bytes.</summary>
    public static bool TryGetTime(ReadOnlySpan<byte> name, out long seconds)
    {
        seconds = 0;
        var digits = 0;
        while (digits < name.Length && char.IsAsciiDigit((char)name[digits]))
        {
            if (++digits > 18) { seconds = 0; return false; }
            seconds = seconds * 10 + (name[digits - 1] - '0');
        }
        return digits > 0;
    }

    /// <summary><see cref="TryGetField(ReadOnlySpan{char}, char, out long)"/> for a name as UTF-8 bytes.</summary>
    public static bool TryGetField(ReadOnlySpan<byte> name, byte key, out long value)
    {
        value = 0;
        var info = name.IndexOf((byte)':');
        var rest = info < 0 ? name : name[..info];
        var comma = rest.IndexOf((byte)',');
        if (comma < 0) return false;
        rest = rest[(comma + 1)..];
        while (true)
        {
            var next = rest.IndexOf((byte)',');
            var field = next < 0 ? rest : rest[..next];
            if (field.Length > 2 && field[0] == key && field[1] == (byte)'=')
                return field[2..].IndexOfAnyExceptInRange((byte)'0', (byte)'9') < 0
                    && System.Buffers.Text.Utf8Parser.TryParse(field[2..], out value, out var used) && used == field.Length - 2;
            if (next < 0) return false;
            rest = rest[(next + 1)..];
        }
    }

    private static bool IsPlainUid(string baseName)
    {
        if (baseName.Length is 0 or > MaxUidLength) return false;
        foreach (var c in baseName)
            if (c is < '!' or > '~') return false;
        return !LooksHashed(baseName);
    }

    private static bool LooksHashed(string uid)
    {
        if (uid.Length != HashedUidLength || uid[0] != 'X') return false;
        foreach (var c in uid.AsSpan(1))
            if (!char.IsAsciiHexDigitLower(c)) return false;
        return true;
    }
}
