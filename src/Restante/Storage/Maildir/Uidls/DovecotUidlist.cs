using System.Globalization;

namespace Restante.Storage.Maildir;

/// <summary>
/// Dovecot's <c>dovecot-uidlist</c>, read for the POP3 UIDLs Dovecot served. Version 1 (Dovecot
/// up to 1.0): a header <c>1 UIDVALIDITY NEXTUID</c>, then <c>UID FILENAME</c> per message. Version 3
/// (1.1 and later): a header <c>3 V… N… G…</c>, then <c>UID [KEYvalue …] :FILENAME</c>, where the
/// record's <c>P</c> field, when present, is the UIDL itself (empty: the file name) and overrides
/// <c>pop3_uidl_format</c>, and <c>G</c> is the GUID for <c>%g</c>. The file is the user's to write:
/// lines that do not parse are skipped and counted, never trusted in part.
/// </summary>
internal sealed class DovecotUidlist : IImportedUidls
{
    private readonly Dictionary<string, Record> _byBase;
    private readonly DovecotUidlFormat _format;

    private DovecotUidlist(uint uidValidity, Dictionary<string, Record> byBase, int damaged, DovecotUidlFormat format)
    {
        UidValidity = uidValidity;
        _byBase = byBase;
        DamagedLines = damaged;
        _format = format;
    }

    private readonly record struct Record(uint Uid, string? Pop3Uidl, string? Guid);

    public uint UidValidity { get; }

    public int Count => _byBase.Count;

    public int DamagedLines { get; }

    /// <summary>Parses the file; false (with the reason) when its header is not one Dovecot 1.x–2.x writes.</summary>
    public static bool TryParse(ReadOnlySpan<char> text, DovecotUidlFormat format, out DovecotUidlist list, out string error)
    {
        list = new DovecotUidlist(0, [], 0, format);
        var lines = new LineCursor(text);
        if (!lines.TryNext(out var header)) { error = "dovecot-uidlist is empty"; return false; }
        uint uidValidity;
        int version;
        if (header.StartsWith("1 "))
        {
            version = 1;
            var fields = header[2..].ToString().Split(' ', StringSplitOptions.RemoveEmptyEntries);
            if (fields.Length < 2 || !TryUInt(fields[0], out uidValidity)) { error = "dovecot-uidlist has a damaged version 1 header"; return false; }
        }
        else if (header.StartsWith("3 "))
        {
            version = 3;
            uidValidity = 0;
            foreach (var field in header[2..].ToString().Split(' ', StringSplitOptions.RemoveEmptyEntries))
                if (field[0] == 'V' && !TryUInt(field.AsSpan(1), out uidValidity)) break;
        }
        else
        {
            error = "dovecot-uidlist is not version 1 or 3 (the versions Dovecot 1.0 to 2.3 write)";
            return false;
        }
        // Dovecot refuses a header without UIDVALIDITY too; %v would be meaningless.
        if (uidValidity == 0) { error = "dovecot-uidlist has no UIDVALIDITY in its header"; return false; }

        var byBase = new Dictionary<string, Record>(StringComparer.Ordinal);
        var damaged = 0;
        while (lines.TryNext(out var line))
        {
            if (line.IsEmpty) continue;
            if (TryParseRecord(line, version, out var fileName, out var record))
                // A later line for the same file replaces the earlier one, as in Dovecot.
                byBase[MaildirName.Base(fileName).ToString()] = record;
            else damaged++;
        }
        list = new DovecotUidlist(uidValidity, byBase, damaged, format);
        error = "";
        return true;
    }

    private static bool TryParseRecord(ReadOnlySpan<char> line, int version, out ReadOnlySpan<char> fileName, out Record record)
    {
        fileName = default;
        record = default;
        var space = line.IndexOf(' ');
        if (space <= 0 || !TryUInt(line[..space], out var uid) || uid == 0) return false;
        var rest = line[(space + 1)..].TrimStart(' ');
        string? pop3Uidl = null, guid = null;
        if (version == 3)
        {
            // Extension fields, each KEYvalue with an upper-case key, up to " :" and the file name.
            while (!rest.IsEmpty && rest[0] != ':')
            {
                var end = rest.IndexOf(' ');
                var field = end < 0 ? rest : rest[..end];
                if (field[0] is < 'A' or > 'Z') return false;
                if (field[0] == 'P') pop3Uidl = field[1..].ToString();
                else if (field[0] == 'G' && field.Length > 1) guid = field[1..].ToString();
                if (end < 0) return false;   // fields but no file name
                rest = rest[(end + 1)..].TrimStart(' ');
            }
            if (rest.IsEmpty) return false;
            rest = rest[1..];
        }
        // A name with '/' would be a path, not a Maildir file: Dovecot calls that broken too.
        if (rest.IsEmpty || rest.IndexOfAny('/', '\0') >= 0) return false;
        fileName = rest;
        record = new Record(uid, pop3Uidl, guid);
        return true;
    }

    private static bool TryUInt(ReadOnlySpan<char> text, out uint value)
        => uint.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out value);

    public string? Find(string baseName, string fileName)
    {
        if (!_byBase.TryGetValue(baseName, out var record)) return null;
        // Dovecot's storage id: the current file name up to the ':' of its flags (",S=…,W=…" kept).
        var colon = fileName.IndexOf(':');
        var storageId = colon < 0 ? fileName : fileName[..colon];
        if (record.Pop3Uidl is { } stored) return stored.Length == 0 ? storageId : stored;
        return _format.Expand(record.Uid, UidValidity, storageId, record.Guid ?? storageId);
    }
}
