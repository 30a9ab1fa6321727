using System.Buffers;
using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using Microsoft.Win32.SafeHandles;

namespace Restante.Storage.Mbox;

/// <summary>
/// Removes messages from a spool in place, under the spool locks, so that a crash at any moment
/// loses nothing.
/// <para>
/// In place rather than by writing a new spool and renaming it over the old: a program that opens
/// the spool before it locks it (mutt; Postfix with <c>mailbox_delivery_lock = fcntl</c>) and waits
/// for our fcntl lock would, after a rename, append to the old inode that no longer has a name, and
/// that mail would be gone. A rename also needs write access to /var/mail and would reset the
/// spool's owner and mode. In place, every locker sees the one file.
/// </para>
/// <para>
/// Crash safety comes from a journal in the state directory, written and synced before the spool
/// is touched: it holds the new tail of the spool (everything from the first removed message on,
/// without the removed ones), the old and new lengths, and a hash of the old bytes that the new
/// tail leaves behind. Recovery, at the next login or delivery, rewrites that tail again and keeps
/// whatever was appended after the old end (an MTA that broke our stale dotlock after a crash).
/// </para>
/// </summary>
internal static class SpoolRewrite
{
    private const string Magic = "restante-mbox-journal 1";
    private const int ChunkSize = 64 * 1024;

    /// <summary>
    /// Removes <paramref name="remove"/> (indexes into <paramref name="current"/>, the spool as it
    /// is now, read under the lock) from the spool, whose length is <paramref name="length"/>.
    /// </summary>
    public static void Remove(SafeFileHandle spool, long length, IReadOnlyList<SpoolMessage> current, IReadOnlySet<int> remove,
        IReadOnlyCollection<string> removedUidls, string journalPath, string sideFilePath, bool fsync, Action<string>? fault)
    {
        var first = Enumerable.Range(0, current.Count).First(remove.Contains);
        var start = current[first].Start;
        var kept = new List<(long From, long To)>();
        for (var i = first; i < current.Count; i++)
            if (!remove.Contains(i)) kept.Add((current[i].Start, current[i].Next));
        var newEnd = start + kept.Sum(k => k.To - k.From);
        var tailHash = HashRange(spool, newEnd, length);

        // 1. The journal, durable before the spool changes.
        StateFiles.WriteAtomically(journalPath, journal =>
        {
            journal.Write(Encoding.ASCII.GetBytes(string.Create(CultureInfo.InvariantCulture,
                $"{Magic} {start} {length} {newEnd} {tailHash}\n{string.Join(' ', removedUidls)}\n")));
            var buffer = ArrayPool<byte>.Shared.Rent(ChunkSize);
            try
            {
                foreach (var (from, to) in kept) Copy(spool, from, to, buffer, chunk => journal.Write(chunk));
            }
            finally
            {
                ArrayPool<byte>.Shared.Return(buffer);
            }
        }, fsync);
        fault?.Invoke("journal-written");

        // 2. The spool, from the journal; 3. the side file; 4. the journal goes.
        Apply(spool, journalPath, sideFilePath, fsync, recovering: false, fault);
    }

    /// <summary>Finishes a rewrite a crash interrupted, if the journal says there was one. True if it did.</summary>
    public static bool RecoverIfNeeded(SafeFileHandle spool, string journalPath, string sideFilePath, bool fsync)
    {
        if (!File.Exists(journalPath)) return false;
        Apply(spool, journalPath, sideFilePath, fsync, recovering: true, fault: null);
        return true;
    }

    private static void Apply(SafeFileHandle spool, string journalPath, string sideFilePath, bool fsync, bool recovering, Action<string>? fault)
    {
        using var journal = new FileStream(journalPath, FileMode.Open, FileAccess.Read, FileShare.Read, bufferSize: 0);
        var (start, oldEnd, newEnd, tailHash, removed, bodyOffset) = ReadHeader(journal, journalPath);
        var length = RandomAccess.GetLength(spool);
        var buffer = ArrayPool<byte>.Shared.Rent(ChunkSize);
        try
        {
            long appendedFrom;
            if (!recovering) appendedFrom = length;                       // we hold the lock: nothing was appended
            else if (length >= oldEnd && HashRange(spool, newEnd, oldEnd) == tailHash) appendedFrom = oldEnd;   // crashed before the truncation
            else appendedFrom = Math.Min(length, newEnd);                  // crashed after it: the tail is in place
            var appended = length - appendedFrom;
            if (appended > 0 && appendedFrom != newEnd)
            {
                // Downwards, front to back, so no byte is overwritten before it is copied.
                var target = newEnd;
                Copy(spool, appendedFrom, length, buffer, chunk =>
                {
                    RandomAccess.Write(spool, chunk, target);
                    target += chunk.Length;
                });
            }
            var position = start;
            journal.Position = bodyOffset;
            var first = true;
            int read;
            while ((read = journal.Read(buffer, 0, ChunkSize)) > 0)
            {
                RandomAccess.Write(spool, buffer.AsSpan(0, read), position);
                position += read;
                if (first) fault?.Invoke("spool-half-written");
                first = false;
            }
            if (position != newEnd) throw new IOException($"The journal {journalPath} holds {position - start} octets, not {newEnd - start}.");
            if (fsync) SpoolFiles.Fsync(spool, journalPath);
            RandomAccess.SetLength(spool, newEnd + appended);
            if (fsync) SpoolFiles.Fsync(spool, journalPath);
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
        fault?.Invoke("spool-written");
        if (removed.Count > 0)
        {
            var side = UidlSideFile.Load(sideFilePath);
            if (side.Existed && side.Remove(removed)) side.Save(sideFilePath, fsync);
        }
        journal.Dispose();
        File.Delete(journalPath);
        if (fsync) StateFiles.SyncDirectory(Path.GetDirectoryName(journalPath)!);
    }

    private static (long Start, long OldEnd, long NewEnd, string TailHash, HashSet<string> Removed, long BodyOffset) ReadHeader(FileStream journal, string path)
    {
        var head = new byte[64 * 1024];
        var n = 0;
        int read;
        while (n < head.Length && (read = journal.Read(head, n, head.Length - n)) > 0) n += read;
        var text = head.AsSpan(0, n);
        var firstLf = text.IndexOf((byte)'\n');
        var secondLf = firstLf < 0 ? -1 : text[(firstLf + 1)..].IndexOf((byte)'\n');
        // The removed UIDLs may make the second line long; beyond 64 KiB it is read again whole.
        if (firstLf < 0 || (secondLf < 0 && n == head.Length)) return ReadLongHeader(journal, path);
        if (secondLf < 0) throw new IOException($"The journal {path} is cut short.");
        var fields = Encoding.ASCII.GetString(text[..firstLf]).Split(' ');
        if (fields.Length != 6 || fields[0] + " " + fields[1] != Magic) throw new IOException($"{path} is not a journal this version writes.");
        var removed = Encoding.ASCII.GetString(text.Slice(firstLf + 1, secondLf)).Split(' ', StringSplitOptions.RemoveEmptyEntries).ToHashSet(StringComparer.Ordinal);
        return (long.Parse(fields[2], CultureInfo.InvariantCulture), long.Parse(fields[3], CultureInfo.InvariantCulture),
            long.Parse(fields[4], CultureInfo.InvariantCulture), fields[5], removed, firstLf + 1 + secondLf + 1);
    }

    private static (long, long, long, string, HashSet<string>, long) ReadLongHeader(FileStream journal, string path)
    {
        journal.Position = 0;
        var bytes = new List<byte>();
        var lines = 0;
        int b;
        while (lines < 2 && (b = journal.ReadByte()) >= 0)
        {
            bytes.Add((byte)b);
            if (b == '\n') lines++;
        }
        if (lines < 2) throw new IOException($"The journal {path} is cut short.");
        var text = Encoding.ASCII.GetString(bytes.ToArray()).Split('\n');
        var fields = text[0].Split(' ');
        if (fields.Length != 6 || fields[0] + " " + fields[1] != Magic) throw new IOException($"{path} is not a journal this version writes.");
        return (long.Parse(fields[2], CultureInfo.InvariantCulture), long.Parse(fields[3], CultureInfo.InvariantCulture),
            long.Parse(fields[4], CultureInfo.InvariantCulture), fields[5],
            text[1].Split(' ', StringSplitOptions.RemoveEmptyEntries).ToHashSet(StringComparer.Ordinal), bytes.Count);
    }

    private static string HashRange(SafeFileHandle spool, long from, long to)
    {
        using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        var buffer = ArrayPool<byte>.Shared.Rent(ChunkSize);
        try
        {
            Copy(spool, from, to, buffer, chunk => hash.AppendData(chunk));
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
        return Convert.ToHexStringLower(hash.GetCurrentHash());
    }

    private delegate void ChunkAction(ReadOnlySpan<byte> chunk);

    private static void Copy(SafeFileHandle spool, long from, long to, byte[] buffer, ChunkAction action)
    {
        for (var position = from; position < to;)
        {
            var read = RandomAccess.Read(spool, buffer.AsSpan(0, (int)Math.Min(buffer.Length, to - position)), position);
            if (read <= 0) throw new IOException("The spool ended early.");
            action(buffer.AsSpan(0, read));
            position += read;
        }
    }
}
