using System.Security.Cryptography;
using System.Text;

namespace Restante.Storage.Maildir;

/// <summary>A message as the old server listed it: its UIDL, its size (LIST) and the hash of its header (TOP n 0).</summary>
public sealed record RemoteMessage(int Number, string Uidl, long Size, string HeaderHash);

/// <summary>A message of ours: its file's base name, its size, the hash of its header.</summary>
public sealed record LocalMessage(string BaseName, long Size, string HeaderHash);

/// <summary>What matching found: pairs to write, and what could not be paired.</summary>
public sealed record UidlMatch(
    IReadOnlyList<(LocalMessage Local, RemoteMessage Remote)> Matched,
    IReadOnlyList<RemoteMessage> OnlyThere,
    IReadOnlyList<LocalMessage> OnlyHere,
    IReadOnlyList<(IReadOnlyList<LocalMessage> Here, IReadOnlyList<RemoteMessage> There)> Ambiguous);

/// <summary>
/// <c>restante import-uidls</c>: pairs the messages an old POP3 server lists with the messages of a
/// local Maildir by size and a hash of the header block (the header lines up to the blank line, line
/// ends ignored), and writes the old UIDLs into the Maildir's <c>uidl-map</c>. Identical copies (same
/// size and header) on both sides are paired in order, which is harmless: they are the same message.
/// When the counts differ (two there, one here) nothing tells which UIDL belongs to which, so those
/// are reported as ambiguous and left out: such a message is downloaded again rather than hidden.
/// </summary>
public static class UidlImport
{
    /// <summary>The hash both sides are compared by: SHA-256 of the header lines, each ended by LF.</summary>
    public static string HeaderHash(IEnumerable<string> headerLines)
    {
        var text = new StringBuilder();
        foreach (var line in headerLines)
        {
            var trimmed = line.EndsWith('\r') ? line[..^1] : line;
            if (trimmed.Length == 0) break;
            text.Append(trimmed).Append('\n');
        }
        return Convert.ToHexStringLower(SHA256.HashData(Encoding.Latin1.GetBytes(text.ToString())));
    }

    public static UidlMatch Match(IReadOnlyList<RemoteMessage> remote, IReadOnlyList<LocalMessage> local)
    {
        var there = remote.GroupBy(m => (m.Size, m.HeaderHash)).ToDictionary(g => g.Key, g => g.ToList());
        var matched = new List<(LocalMessage, RemoteMessage)>();
        var onlyHere = new List<LocalMessage>();
        var ambiguous = new List<(IReadOnlyList<LocalMessage>, IReadOnlyList<RemoteMessage>)>();
        foreach (var group in local.GroupBy(m => (m.Size, m.HeaderHash)))
        {
            var here = group.ToList();
            if (!there.Remove(group.Key, out var candidates)) { onlyHere.AddRange(here); continue; }
            if (candidates.Count == here.Count) matched.AddRange(here.Zip(candidates));
            else ambiguous.Add((here, candidates));
        }
        var onlyThere = there.Values.SelectMany(v => v).OrderBy(m => m.Number).ToList();
        return new UidlMatch(matched, onlyThere, onlyHere, ambiguous);
    }

    /// <summary>
    /// Lists the user's Maildir (locked meanwhile, like a POP3 session) with each message's size and
    /// header hash; with <paramref name="write"/>, then writes the map for <paramref name="matchWith"/>'s
    /// result into the Maildir's root (a random O_EXCL temporary renamed over uidl-map).
    /// </summary>
    public static async Task<UidlMatch> RunAsync(MaildirStore store, string user, IReadOnlyList<RemoteMessage> remote, bool write, string source, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(store);
        ArgumentNullException.ThrowIfNull(remote);
        var drop = (MaildirMaildrop)await store.OpenAsync(user, cancellationToken).ConfigureAwait(false);
        await using (drop.ConfigureAwait(false))
        {
            var local = new List<LocalMessage>();
            for (var i = 0; i < drop.Messages.Count; i++)
            {
                var stream = await drop.OpenMessageAsync(i, cancellationToken).ConfigureAwait(false);
                await using (stream.ConfigureAwait(false))
                    local.Add(new LocalMessage(drop.BaseNameOf(i), drop.Messages[i].Size, HeaderHash(await ReadHeaderAsync(stream, cancellationToken).ConfigureAwait(false))));
            }
            var match = Match(remote, local);
            if (write)
            {
                var text = UidlMap.Format(match.Matched.Select(p => KeyValuePair.Create(p.Local.BaseName, p.Remote.Uidl)),
                    $"Written by restante import-uidls from {source} on {DateTime.UtcNow:yyyy-MM-dd HH:mm:ss}Z.\nServed with \"UidlSource\": \"map\". One line per message: file base name, UIDL.");
                WriteRootFile(drop.Maildir, UidlMap.FileName, text);
            }
            return match;
        }
    }

    /// <summary>The header lines, read up to the blank line and at most 1 MiB.</summary>
    private static async Task<List<string>> ReadHeaderAsync(Stream stream, CancellationToken cancellationToken)
    {
        using var reader = new StreamReader(stream, Encoding.Latin1, detectEncodingFromByteOrderMarks: false, bufferSize: 16 * 1024, leaveOpen: true);
        var lines = new List<string>();
        long read = 0;
        while (read < 1024 * 1024 && await reader.ReadLineAsync(cancellationToken).ConfigureAwait(false) is { } line)
        {
            if (line.Length == 0) break;
            lines.Add(line);
            read += line.Length + 1;
        }
        return lines;
    }

    /// <summary>Replaces a file in the Maildir's root atomically: a random O_EXCL temporary, fsynced, renamed over it.</summary>
    internal static void WriteRootFile(VerifiedMaildir maildir, string name, string text)
        => RootFile.Replace(maildir, name, writer => writer.Write(text), fsyncFile: true, fsyncDirectory: true);
}
