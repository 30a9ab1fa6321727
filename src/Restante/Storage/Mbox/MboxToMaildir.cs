using System.Globalization;
using System.Security.Cryptography;
using System.Text;

namespace Restante.Storage.Mbox;

/// <summary>
/// Copies a spool into a Maildir, keeping every message's UIDL: each message becomes a file in
/// <c>new/</c>, and a line "file-name-base UIDL" in the Maildir's <c>uidl-map</c>, the file the
/// Maildir store reads to serve a previous server's UIDLs. The spool is left as it is.
/// <para>
/// Resumable: a file's name follows from its message's position and UIDL, a message is written
/// through <c>tmp/</c> and renamed, and its map line is appended only after; a rerun skips what
/// the map has, and maps without copying again a file an interrupted run renamed but did not map.
/// </para>
/// </summary>
public static class MboxToMaildir
{
    public const string UidlMapName = "uidl-map";

    /// <summary>Copies <paramref name="user"/>'s spool (opened like a POP3 session, so locked meanwhile) into <paramref name="maildir"/>.</summary>
    public static async Task<MboxMigrationResult> CopyAsync(MboxStore source, string user, string maildir, bool fsync, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(source);
        foreach (var sub in new[] { "tmp", "new", "cur" }) Directory.CreateDirectory(Path.Combine(maildir, sub));
        var mapPath = Path.Combine(maildir, UidlMapName);
        var mapped = ReadMap(mapPath);
        var present = Directory.EnumerateFiles(Path.Combine(maildir, "new")).Concat(Directory.EnumerateFiles(Path.Combine(maildir, "cur")))
            .Select(p => Maildir.MaildirName.Base(Path.GetFileName(p)).ToString()).ToHashSet(StringComparer.Ordinal);
        var drop = await source.OpenAsync(user, cancellationToken).ConfigureAwait(false);
        await using (drop.ConfigureAwait(false))
        {
            int copied = 0, skipped = 0;
            using var map = new FileStream(mapPath, FileMode.Append, FileAccess.Write, FileShare.Read, bufferSize: 0);
            for (var i = 0; i < drop.Messages.Count; i++)
            {
                var message = drop.Messages[i];
                if (mapped.Contains(message.Uid))
                {
                    skipped++;
                    continue;
                }
                var baseName = BaseNameFor(i, message.Uid);
                if (!present.Contains(baseName))
                {
                    var temporary = Path.Combine(maildir, "tmp", baseName);
                    long length;
                    var stream = await drop.OpenMessageAsync(i, cancellationToken).ConfigureAwait(false);
                    await using (stream.ConfigureAwait(false))
                    {
                        var file = new FileStream(temporary, FileMode.Create, FileAccess.Write, FileShare.None, bufferSize: 0);
                        await using (file.ConfigureAwait(false))
                        {
                            await stream.CopyToAsync(file, cancellationToken).ConfigureAwait(false);
                            length = file.Length;
                            if (fsync) file.Flush(flushToDisk: true);
                        }
                    }
                    // S= and W= as the Maildir store's own deliveries carry them: sized without reading.
                    var name = string.Create(CultureInfo.InvariantCulture, $"{baseName},S={length},W={message.Size}");
                    File.Move(temporary, Path.Combine(maildir, "new", name), overwrite: false);
                    if (fsync) StateFiles.SyncDirectory(Path.Combine(maildir, "new"));
                    copied++;
                }
                // The map line last: a message is "done" only once its file is durable.
                map.Write(Encoding.ASCII.GetBytes($"{baseName} {message.Uid}\n"));
                if (fsync) map.Flush(flushToDisk: true);
                mapped.Add(message.Uid);
            }
            return new MboxMigrationResult(drop.Messages.Count, copied, skipped);
        }
    }

    /// <summary>
    /// The file name base of the n-th message: a "time" that is 1000000000 + n keeps spool order
    /// in the Maildir's arrival order (and before any mail delivered since 2001), and a hash of the
    /// UIDL keeps names apart when a rerun sees a changed spool.
    /// </summary>
    internal static string BaseNameFor(int index, string uidl)
    {
        var hash = Convert.ToHexStringLower(SHA256.HashData(Encoding.ASCII.GetBytes(uidl)).AsSpan(0, 8));
        return string.Create(CultureInfo.InvariantCulture, $"{1_000_000_000L + index}.M{hash}.mbox");
    }

    private static HashSet<string> ReadMap(string path)
    {
        var uidls = new HashSet<string>(StringComparer.Ordinal);
        if (!File.Exists(path)) return uidls;
        foreach (var line in File.ReadLines(path, Encoding.ASCII))
        {
            var space = line.IndexOf(' ', StringComparison.Ordinal);
            if (space > 0) uidls.Add(line[(space + 1)..]);
        }
        return uidls;
    }
}

/// <param name="Messages">Messages in the spool.</param>
/// <param name="Copied">Written into the Maildir by this run.</param>
/// <param name="Skipped">Already copied by an earlier run.</param>
public readonly record struct MboxMigrationResult(int Messages, int Copied, int Skipped);
