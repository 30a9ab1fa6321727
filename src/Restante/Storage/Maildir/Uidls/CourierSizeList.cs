using System.Globalization;
using System.Text;

namespace Restante.Storage.Maildir;

/// <summary>
/// Courier's <c>courierpop3dsizelist</c>, read for the UIDLs Courier's pop3d served. A header
/// <c>/VERSION NEXTUID [UIDVALIDITY]</c> (versions 2 and 3), then per message
/// <c>FILENAME SIZE UID:UIDVALIDITY[:UTF8]</c>. Courier serves <c>UIDn-v</c> (<c>UIDn</c> when v is 0);
/// a record with uid 0 (converted from the oldest lists) gets the file name up to ':', with octets
/// outside '!'..'~' and <c>' " +</c> written as <c>+XX</c>, as Courier does. The file name may hold
/// spaces, so the two numbers are taken from the end of the line.
/// </summary>
internal sealed class CourierSizeList : IImportedUidls
{
    private readonly Dictionary<string, string> _byBase;

    private CourierSizeList(Dictionary<string, string> byBase, int damaged)
    {
        _byBase = byBase;
        DamagedLines = damaged;
    }

    public int Count => _byBase.Count;

    public int DamagedLines { get; }

    public static bool TryParse(ReadOnlySpan<char> text, out CourierSizeList list, out string error)
    {
        list = new CourierSizeList([], 0);
        var lines = new LineCursor(text);
        if (!lines.TryNext(out var header) || !(header.StartsWith("/2 ") || header.StartsWith("/3 ")))
        {
            error = "courierpop3dsizelist has no version 2 or 3 header";
            return false;
        }
        var byBase = new Dictionary<string, string>(StringComparer.Ordinal);
        var damaged = 0;
        while (lines.TryNext(out var line))
        {
            if (line.IsEmpty) continue;
            if (TryParseRecord(line, out var fileName, out var uidl)) byBase[MaildirName.Base(fileName).ToString()] = uidl;
            else damaged++;
        }
        list = new CourierSizeList(byBase, damaged);
        error = "";
        return true;
    }

    private static bool TryParseRecord(ReadOnlySpan<char> line, out ReadOnlySpan<char> fileName, out string uidl)
    {
        fileName = default;
        uidl = "";
        var last = line.LastIndexOf(' ');
        if (last <= 0) return false;
        var ids = line[(last + 1)..];
        var beforeIds = line[..last];
        var sizeStart = beforeIds.LastIndexOf(' ');
        if (sizeStart <= 0 || !ulong.TryParse(beforeIds[(sizeStart + 1)..], NumberStyles.None, CultureInfo.InvariantCulture, out _)) return false;
        fileName = beforeIds[..sizeStart];
        if (fileName.IndexOfAny('/', '\0') >= 0) return false;

        var colon = ids.IndexOf(':');
        if (colon <= 0) return false;
        var rest = ids[(colon + 1)..];
        var second = rest.IndexOf(':');
        if (second >= 0) rest = rest[..second];
        if (!ulong.TryParse(ids[..colon], NumberStyles.None, CultureInfo.InvariantCulture, out var uid)
            || !ulong.TryParse(rest, NumberStyles.None, CultureInfo.InvariantCulture, out var uidValidity)) return false;
        uidl = uid != 0
            ? uidValidity != 0 ? string.Create(CultureInfo.InvariantCulture, $"UID{uid}-{uidValidity}") : string.Create(CultureInfo.InvariantCulture, $"UID{uid}")
            : EscapedName(fileName);
        return true;
    }

    private static string EscapedName(ReadOnlySpan<char> fileName)
    {
        var colon = fileName.IndexOf(':');
        if (colon >= 0) fileName = fileName[..colon];
        var result = new StringBuilder();
        foreach (var b in Encoding.UTF8.GetBytes(fileName.ToString()))
        {
            if (b is < 0x21 or > 0x7E or (byte)'\'' or (byte)'"' or (byte)'+') result.Append('+').Append(b.ToString("X2", CultureInfo.InvariantCulture));
            else result.Append((char)b);
        }
        return result.ToString();
    }

    public string? Find(string baseName, string fileName) => _byBase.GetValueOrDefault(baseName);
}
