using System.Buffers;
using System.Globalization;
using System.Security.Cryptography;
using System.Text;

namespace Restante.Storage.Maildir;

/// <summary>
/// The file <c>restante-index</c> in the Maildir root: base name → size after CRLF conversion, for
/// messages whose names carry no <c>,W=</c>. Maildir message files are never rewritten (only
/// renamed), so a base name's size never changes and the index needs no stat per message. It
/// is a cache: a missing, stale or damaged index only costs counting those messages again.
/// Format: a header line, then <c>base TAB size LF</c> per message, in arrival order, so that
/// reading it is one merge with the sorted snapshot: no dictionary, no string per line.
/// </summary>
internal static class SizeIndex
{
    public const string FileName = "restante-index";
    private const string Header = "restante-index 1";

    /// <summary>What reading the index found, to decide whether it must be rewritten.</summary>
    public readonly record struct Outcome(int Lines, int Used, bool Damaged)
    {
        public bool Stale => Damaged || Lines != Used;
    }

    /// <summary>
    /// Gives entries (sorted in <see cref="ArrivalOrder"/>) without a size their indexed size.
    /// An unreadable or foreign index counts as empty and damaged; it never fails the open.
    /// </summary>
    public static Outcome Apply(VerifiedMaildir maildir, MaildirEntry[] sorted)
    {
        byte[]? bytes = null;
        char[]? chars = null;
        try
        {
            int length;
            // O_NOFOLLOW and O_NONBLOCK: a symlink (to another file, or to a FIFO that would hang
            // the open) counts as damaged, and the rewrite below replaces the link itself.
            var errno = Posix.TryOpenReadAt(maildir.Root, FileName, out var handle);
            if (errno == Posix.ENoEnt) return new Outcome(0, 0, false);
            if (errno != 0) return new Outcome(0, 0, true);
            using (handle)
            {
                try
                {
                    var status = Posix.Stat(handle!);
                    // 100,000 messages make a 3 MB index: pooled buffers keep it off the large-object heap.
                    if (status.Kind != Posix.FileKind.Regular || status.Length > int.MaxValue / 4) return new Outcome(0, 0, true);
                    bytes = ArrayPool<byte>.Shared.Rent((int)status.Length);
                    // Read at most the size fstat gave: a file that grows meanwhile is cut there.
                    length = 0;
                    int read;
                    while (length < status.Length && (read = RandomAccess.Read(handle!, bytes.AsSpan(length, (int)status.Length - length), length)) > 0) length += read;
                }
                catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
                {
                    return new Outcome(0, 0, true);
                }
            }
            chars = ArrayPool<char>.Shared.Rent(Encoding.UTF8.GetMaxCharCount(length));
            var count = Encoding.UTF8.GetChars(bytes, 0, length, chars, 0);
            return Merge(chars.AsSpan(0, count), sorted);
        }
        finally
        {
            if (bytes is not null) ArrayPool<byte>.Shared.Return(bytes);
            if (chars is not null) ArrayPool<char>.Shared.Return(chars);
        }
    }

    private static Outcome Merge(ReadOnlySpan<char> text, MaildirEntry[] sorted)
    {
        var rest = text;
        var newline = rest.IndexOf('\n');
        if (newline < 0 || !rest[..newline].SequenceEqual(Header)) return new Outcome(0, 0, true);
        rest = rest[(newline + 1)..];

        int lines = 0, used = 0, next = 0;
        var damaged = false;
        while (!rest.IsEmpty)
        {
            newline = rest.IndexOf('\n');
            // A last line without LF is a torn write: drop it, that message is counted again.
            if (newline < 0) { damaged = true; break; }
            var line = rest[..newline];
            rest = rest[(newline + 1)..];
            lines++;
            var tab = line.IndexOf('\t');
            if (tab <= 0 || !long.TryParse(line[(tab + 1)..], NumberStyles.None, CultureInfo.InvariantCulture, out var size))
            {
                damaged = true;
                continue;
            }
            var baseName = line[..tab];
            // Entries before this line are not indexed (new mail); a line matching no entry is a
            // removed message. An index out of order just finds fewer matches and is rewritten.
            var order = 1;
            while (next < sorted.Length && (order = ArrivalOrder.Compare(sorted[next], baseName)) < 0) next++;
            if (next >= sorted.Length || order != 0) continue;
            if (sorted[next].Size < 0)
            {
                sorted[next].Size = size;
                used++;
            }
            next++;
        }
        return new Outcome(lines, used, damaged);
    }

    /// <summary>
    /// Replaces the index with the sizes of the entries that do not carry W=, atomically: write a
    /// temporary file, optionally fsync it, rename it over the old one.
    /// </summary>
    public static void Write(VerifiedMaildir maildir, MaildirEntry[] sorted, bool fsync)
        => RootFile.Replace(maildir, FileName, writer =>
        {
            writer.Write(Header);
            writer.Write('\n');
            Span<char> digits = stackalloc char[20];
            foreach (ref readonly var entry in sorted.AsSpan())
            {
                // Such a name cannot be written as a line; it is counted again at each open.
                if (entry.SizeFromName || entry.Size < 0 || entry.BaseName.AsSpan().IndexOfAny('\t', '\n') >= 0) continue;
                writer.Write(entry.BaseName);
                writer.Write('\t');
                entry.Size.TryFormat(digits, out var written, provider: CultureInfo.InvariantCulture);
                writer.Write(digits[..written]);
                writer.Write('\n');
            }
        }, fsyncFile: fsync, fsyncDirectory: false);
}
