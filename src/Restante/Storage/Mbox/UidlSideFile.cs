using System.Text;

namespace Restante.Storage.Mbox;

/// <summary>
/// The side file that keeps an mbox spool's UIDLs across sessions: one line per message in spool
/// order, "identity uidl". The identity does not depend on where a message sits, so deleting or
/// appending messages changes no other message's UIDL. A message seen for the first time gets its
/// identity as UIDL, or identity-2, -3… when that is taken (two copies of one message).
/// </summary>
internal sealed class UidlSideFile
{
    private const string Header = "restante-mbox-uidl 1";

    private readonly List<(string Identity, string Uidl)> _entries;

    private UidlSideFile(List<(string, string)> entries, bool existed)
    {
        _entries = entries;
        Existed = existed;
    }

    /// <summary>False when there was no side file yet: the spool has never been opened by us.</summary>
    public bool Existed { get; }

    public IReadOnlyList<(string Identity, string Uidl)> Entries => _entries;

    public static UidlSideFile Load(string path)
    {
        string[] lines;
        try
        {
            lines = File.ReadAllLines(path, Encoding.ASCII);
        }
        catch (FileNotFoundException)
        {
            return new UidlSideFile([], existed: false);
        }
        var entries = new List<(string, string)>();
        var seen = new HashSet<string>(StringComparer.Ordinal);
        foreach (var line in lines.Skip(lines.Length > 0 && lines[0] == Header ? 1 : 0))
        {
            var space = line.IndexOf(' ', StringComparison.Ordinal);
            if (space <= 0) continue;
            var uidl = line[(space + 1)..];
            // A UIDL twice would give two messages one UIDL: the later line is dropped.
            if (!IsUidl(uidl) || !seen.Add(uidl)) continue;
            entries.Add((line[..space], uidl));
        }
        return new UidlSideFile(entries, existed: true);
    }

    /// <summary>RFC 1939 §7: 1 to 70 octets in 0x21-0x7E.</summary>
    public static bool IsUidl(string text) => text.Length is >= 1 and <= 70 && !text.AsSpan().ContainsAnyExceptInRange('!', '~');

    /// <summary>
    /// The UIDL of every message of <paramref name="messages"/>: the recorded one when its identity
    /// is recorded (the n-th copy of an identity gets the n-th recorded UIDL), else a new one.
    /// With <paramref name="adoptXUidl"/> a usable X-UIDL header is taken as the UIDL instead.
    /// The side file is then set to exactly these messages.
    /// </summary>
    public string[] Assign(IReadOnlyList<SpoolMessage> messages, bool adoptXUidl, out bool changed)
    {
        var recorded = new Dictionary<string, Queue<string>>(StringComparer.Ordinal);
        var used = new HashSet<string>(StringComparer.Ordinal);
        foreach (var (identity, uidl) in _entries)
        {
            if (!recorded.TryGetValue(identity, out var queue)) recorded[identity] = queue = new Queue<string>();
            queue.Enqueue(uidl);
            used.Add(uidl);
        }
        var uidls = new string?[messages.Count];
        if (adoptXUidl)
        {
            for (var i = 0; i < messages.Count; i++)
                if (messages[i].XUidl is { } given && used.Add(given)) uidls[i] = given;
        }
        for (var i = 0; i < messages.Count; i++)
        {
            if (uidls[i] is not null) continue;
            var identity = messages[i].Identity;
            uidls[i] = recorded.TryGetValue(identity, out var queue) && queue.Count > 0 ? queue.Dequeue() : NewUidl(identity, used);
        }
        var next = new List<(string, string)>(messages.Count);
        for (var i = 0; i < messages.Count; i++) next.Add((messages[i].Identity, uidls[i]!));
        changed = !next.SequenceEqual(_entries);
        _entries.Clear();
        _entries.AddRange(next);
        return uidls!;
    }

    /// <summary>Records a message appended at the end of the spool; returns its UIDL.</summary>
    public string Append(string identity)
    {
        var used = new HashSet<string>(_entries.Select(e => e.Uidl), StringComparer.Ordinal);
        var uidl = NewUidl(identity, used);
        _entries.Add((identity, uidl));
        return uidl;
    }

    /// <summary>Forgets the given UIDLs (messages removed from the spool).</summary>
    public bool Remove(IReadOnlySet<string> uidls) => _entries.RemoveAll(e => uidls.Contains(e.Uidl)) > 0;

    private static string NewUidl(string identity, HashSet<string> used)
    {
        if (used.Add(identity)) return identity;
        for (var n = 2; ; n++)
        {
            var candidate = identity + "-" + n.ToString(System.Globalization.CultureInfo.InvariantCulture);
            if (used.Add(candidate)) return candidate;
        }
    }

    /// <summary>Writes the file whole under a temporary name and renames it into place, so it is never seen half-written.</summary>
    public void Save(string path, bool fsync)
    {
        var text = new StringBuilder(Header).Append('\n');
        foreach (var (identity, uidl) in _entries) text.Append(identity).Append(' ').Append(uidl).Append('\n');
        StateFiles.WriteAtomically(path, Encoding.ASCII.GetBytes(text.ToString()), fsync);
    }
}
