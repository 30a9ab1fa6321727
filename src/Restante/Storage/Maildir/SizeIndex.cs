using System.Buffers;
using System.Buffers.Text;

namespace Restante.Storage.Maildir;

/// <summary>
/// The file <c>restante-index</c> in the Maildir root: base name → size after CRLF conversion, for
/// messages whose names carry no <c>,W=</c>. Maildir message files are never rewritten (only
/// renamed), so a base name's size never changes and the index needs no stat per message. It
/// is what lets a restarted server list a Maildir without reading its messages again.
/// The user can write to the Maildir, so the file is input like any other: it is bounded in size,
/// read as bytes, and can only ever give a size to a name the listing found in new/ or cur/: it
/// neither adds a message nor hides one. A missing, stale or damaged index only costs counting
/// those messages again. Format: a header line, then <c>base TAB size LF</c> per message, in
/// arrival order (order is not relied on: lines are looked up by name).
/// </summary>
internal static class SizeIndex
{
    public const string FileName = "restante-index";
    private static ReadOnlySpan<byte> Header => "restante-index 1\n"u8;

    // A line is a base name (255 bytes at most), a TAB, up to 19 digits and LF; a file longer
    // than that many lines per message listed (plus slack for lines of removed messages) is not ours.
    private const long MaxBytesPerMessage = 280;
    private const long Slack = 1024 * 1024;
    private const int PooledLimit = 1024 * 1024;

    /// <summary>What reading the index found, to decide whether it must be rewritten.</summary>
    public readonly record struct Outcome(int Lines, int Used, bool Damaged)
    {
        public bool Stale => Damaged || Lines != Used;
    }

    /// <summary>
    /// Gives the listed messages without a size their indexed size. An unreadable or foreign
    /// index counts as empty and damaged; it never fails the open.
    /// </summary>
    public static Outcome Apply(VerifiedMaildir maildir, MaildirListing listing)
    {
        // O_NOFOLLOW and O_NONBLOCK: a symlink (to another file, or to a FIFO that would hang
        // the open) counts as damaged, and the rewrite replaces the link itself.
        var errno = Posix.TryOpenReadAt(maildir.Root, FileName, out var handle);
        if (errno == Posix.ENoEnt) return new Outcome(0, 0, false);
        if (errno != 0) return new Outcome(0, 0, true);
        byte[]? bytes = null;
        try
        {
            using (handle)
            {
                int length;
                try
                {
                    var status = Posix.Stat(handle!);
                    if (status.Kind != Posix.FileKind.Regular || status.Length > Math.Min(int.MaxValue / 2, listing.Count * MaxBytesPerMessage + Slack))
                        return new Outcome(0, 0, true);
                    // Pooled while small; a huge mailbox's (40 MB for 1,000,000 messages) is not, so
                    // that the pool does not keep it for the life of the process.
                    bytes = status.Length <= PooledLimit ? ArrayPool<byte>.Shared.Rent((int)status.Length) : GC.AllocateUninitializedArray<byte>((int)status.Length);
                    // Read at most the size fstat gave: a file that grows meanwhile is cut there.
                    length = 0;
                    int read;
                    while (length < status.Length && (read = RandomAccess.Read(handle!, bytes.AsSpan(length, (int)status.Length - length), length)) > 0) length += read;
                }
                catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
                {
                    return new Outcome(0, 0, true);
                }
                return Merge(bytes.AsSpan(0, length), listing);
            }
        }
        finally
        {
            if (bytes is not null && bytes.Length <= PooledLimit) ArrayPool<byte>.Shared.Return(bytes);
        }
    }

    private static Outcome Merge(ReadOnlySpan<byte> text, MaildirListing listing)
    {
        if (!text.StartsWith(Header)) return new Outcome(0, 0, true);
        var rest = text[Header.Length..];
        int lines = 0, used = 0;
        var damaged = false;
        var records = listing.Records;
        while (!rest.IsEmpty)
        {
            var newline = rest.IndexOf((byte)'\n');
            // A last line without LF is a torn write: drop it, that message is counted again.
            if (newline < 0) { damaged = true; break; }
            var line = rest[..newline];
            rest = rest[(newline + 1)..];
            lines++;
            var tab = line.IndexOf((byte)'\t');
            var digits = tab < 0 ? default : line[(tab + 1)..];
            if (tab <= 0 || digits.IsEmpty || digits.IndexOfAnyExceptInRange((byte)'0', (byte)'9') >= 0
                || !Utf8Parser.TryParse(digits, out long size, out var consumed) || consumed != digits.Length || !MaildirListing.Record.Fits(size))
            {
                damaged = true;
                continue;
            }
            // A line matching no listed name is a removed message; it can never add one.
            var found = listing.FindBase(line[..tab]);
            if (found < 0 || records[found].Size >= 0) continue;
            records[found].Size = size;
            used++;
        }
        return new Outcome(lines, used, damaged);
    }

    /// <summary>
    /// Replaces the index with the sizes of the messages that do not carry W=, atomically: write a
    /// temporary file, optionally fsync it, rename it over the old one.
    /// </summary>
    public static void Write(VerifiedMaildir maildir, MaildirListing listing, bool fsync)
        => RootFile.ReplaceBytes(maildir, FileName, stream =>
        {
            stream.Write(Header);
            Span<byte> digits = stackalloc byte[20];
            var records = listing.Records;
            for (var i = 0; i < records.Length; i++)
            {
                var baseName = listing.BaseOf(i);
                // Such a name cannot be written as a line; it is counted again at each start.
                if (records[i].SizeFromName || records[i].Size < 0 || baseName.IndexOfAny((byte)'\t', (byte)'\n') >= 0) continue;
                stream.Write(baseName);
                stream.WriteByte((byte)'\t');
                Utf8Formatter.TryFormat(records[i].Size, digits, out var written);
                stream.Write(digits[..written]);
                stream.WriteByte((byte)'\n');
            }
        }, fsyncFile: fsync, fsyncDirectory: false);
}
