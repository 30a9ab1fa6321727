using System.Text;

namespace Restante.Storage.Maildir;

/// <summary>
/// The plain <c>uidl-map</c> file beside a Maildir: per line a message file's base name (or its
/// whole name: the base is taken), white space, and the UIDL to serve for it. A UIDL holds no white
/// space (RFC 1939 §7), so the last field is the UIDL and everything before it the name. Empty lines
/// and lines starting with '#' are skipped. <c>restante import-uidls --write</c> writes it; anything
/// that can produce two columns (a script over an old server's database) can too.
/// </summary>
internal sealed class UidlMap : IImportedUidls
{
    public const string FileName = "uidl-map";

    private readonly Dictionary<string, string> _byBase;

    private UidlMap(Dictionary<string, string> byBase, int damaged)
    {
        _byBase = byBase;
        DamagedLines = damaged;
    }

    public int Count => _byBase.Count;

    public int DamagedLines { get; }

    public static UidlMap Parse(ReadOnlySpan<char> text)
    {
        var byBase = new Dictionary<string, string>(StringComparer.Ordinal);
        var damaged = 0;
        var lines = new LineCursor(text);
        while (lines.TryNext(out var line))
        {
            line = line.Trim();
            if (line.IsEmpty || line[0] == '#') continue;
            var split = line.LastIndexOfAny(' ', '\t');
            if (split <= 0) { damaged++; continue; }
            var name = line[..split].TrimEnd();
            if (name.IsEmpty || name.IndexOfAny('/', '\0') >= 0) { damaged++; continue; }
            byBase[MaildirName.Base(name).ToString()] = line[(split + 1)..].ToString();
        }
        return new UidlMap(byBase, damaged);
    }

    public string? Find(string baseName, string fileName) => _byBase.GetValueOrDefault(baseName);

    /// <summary>The file's text for these (base name, UIDL) pairs, in the given order, under a comment saying where it came from.</summary>
    public static string Format(IEnumerable<KeyValuePair<string, string>> pairs, string comment)
    {
        var text = new StringBuilder();
        foreach (var line in comment.Split('\n')) text.Append("# ").Append(line).Append('\n');
        foreach (var (baseName, uidl) in pairs) text.Append(baseName).Append(' ').Append(uidl).Append('\n');
        return text.ToString();
    }
}
