using System.Buffers;
using System.IO.Enumeration;
using System.Runtime.InteropServices;
using Microsoft.Extensions.Logging;
using Restante.Protocol;

namespace Restante.Storage.Maildir;

/// <summary>
/// Lists a Maildir once, at open: the messages in <c>new/</c> and <c>cur/</c>, in arrival order,
/// each with its size. Sizes come from <c>,W=</c> in the name or from the <see cref="SizeIndex"/>,
/// so a known message is never opened; only messages seen for the first time are read.
/// </summary>
internal static class Snapshot
{
    private static readonly EnumerationOptions ListingOptions = new()
    {
        // Dot-files are skipped by name below; any other attribute would cost a stat per file.
        AttributesToSkip = 0,
        IgnoreInaccessible = false,
        RecurseSubdirectories = false,
        ReturnSpecialDirectories = false,
    };

    public static async Task<MaildirEntry[]> TakeAsync(string maildir, ILogger logger, bool fsync, CancellationToken cancellationToken)
    {
        // new/ before cur/: a message another client moves from new/ to cur/ meanwhile is then
        // seen twice (and merged below) rather than missed.
        var list = new List<MaildirEntry>();
        AddFolder(list, maildir, MaildirFolder.New);
        AddFolder(list, maildir, MaildirFolder.Cur);
        var entries = Sort(list);
        var unique = RemoveDuplicates(entries);
        if (unique < entries.Length) entries = entries[..unique];
        var counted = await FillSizesAsync(maildir, entries, logger, fsync, cancellationToken).ConfigureAwait(false);
        // Vanished files and FIFOs were given no size: leave them out (rare, so copy only then).
        if (Array.Exists(entries, static e => e.Size < 0)) entries = Array.FindAll(entries, static e => e.Size >= 0);
        MaildirLog.Opened(logger, maildir, entries.Length, counted);
        return entries;
    }

    public static string PathOf(string maildir, in MaildirEntry entry) =>
        Path.Join(maildir, entry.Folder == MaildirFolder.New ? "new" : "cur", entry.FileName);

    /// <summary>
    /// Finds a message again after another client renamed it (new/ to cur/, or new flags): the
    /// same base name with any fields and info. False when it is gone.
    /// </summary>
    public static bool TryRelocate(string maildir, ref MaildirEntry entry)
    {
        foreach (var folder in (ReadOnlySpan<MaildirFolder>)[MaildirFolder.Cur, MaildirFolder.New])
        {
            var directory = Path.Join(maildir, folder == MaildirFolder.New ? "new" : "cur");
            var baseName = entry.BaseName;
            try
            {
                var found = new FileSystemEnumerable<string>(directory, static (ref FileSystemEntry e) => e.FileName.ToString(), ListingOptions)
                {
                    ShouldIncludePredicate = (ref FileSystemEntry e) => !e.IsDirectory && MaildirName.HasBase(e.FileName, baseName),
                }.FirstOrDefault();
                if (found is null) continue;
                entry.Folder = folder;
                entry.FileName = found;
                return true;
            }
            catch (DirectoryNotFoundException)
            {
                // Nothing to find there.
            }
        }
        return false;
    }

    private static void AddFolder(List<MaildirEntry> list, string maildir, MaildirFolder folder)
    {
        var directory = Path.Join(maildir, folder == MaildirFolder.New ? "new" : "cur");
        try
        {
            var names = new FileSystemEnumerable<string>(directory, static (ref FileSystemEntry e) => e.FileName.ToString(), ListingOptions)
            {
                // IsDirectory comes from the directory entry's type, without a stat per file.
                ShouldIncludePredicate = static (ref FileSystemEntry e) => !e.IsDirectory && e.FileName[0] != '.',
            };
            foreach (var name in names) list.Add(new MaildirEntry(folder, name));
        }
        catch (DirectoryNotFoundException)
        {
            // A Maildir without this folder simply has no messages in it.
        }
    }

    /// <summary>
    /// Sorts in <see cref="ArrivalOrder"/>, fast: the times as bare numbers first (a primitive-key
    /// sort), then the base names only within runs of equal time, which are short.
    /// </summary>
    private static MaildirEntry[] Sort(List<MaildirEntry> list)
    {
        var entries = CollectionsMarshal.AsSpan(list);
        // Scratch arrays come from the pool: at 100,000 messages each is a large-object allocation.
        var keys = ArrayPool<long>.Shared.Rent(entries.Length);
        var order = ArrayPool<int>.Shared.Rent(entries.Length);
        var bases = ArrayPool<string>.Shared.Rent(entries.Length);
        try
        {
            return Sort(entries, keys.AsSpan(0, entries.Length), order.AsSpan(0, entries.Length), bases);
        }
        finally
        {
            ArrayPool<long>.Shared.Return(keys);
            ArrayPool<int>.Shared.Return(order);
            ArrayPool<string>.Shared.Return(bases, clearArray: true);
        }
    }

    private static MaildirEntry[] Sort(ReadOnlySpan<MaildirEntry> entries, Span<long> keys, Span<int> order, string[] bases)
    {
        for (var i = 0; i < entries.Length; i++)
        {
            bases[i] = entries[i].BaseName;
            // 18 digits at most (MaildirName.TryGetTime), so MaxValue is after every real time.
            keys[i] = entries[i].HasTime ? entries[i].Seconds : long.MaxValue;
            order[i] = i;
        }
        keys.Sort(order);

        var sorted = new MaildirEntry[entries.Length];
        var runStart = 0;
        for (var i = 1; i <= keys.Length; i++)
        {
            if (i < keys.Length && keys[i] == keys[runStart]) continue;
            if (i - runStart > 1) order.Slice(runStart, i - runStart).Sort(new BaseNameOrder(bases));
            runStart = i;
        }
        for (var i = 0; i < order.Length; i++) sorted[i] = entries[order[i]];
        return sorted;
    }

    private readonly struct BaseNameOrder(string[] bases) : IComparer<int>
    {
        public int Compare(int x, int y) => string.CompareOrdinal(bases[x], bases[y]);
    }

    /// <summary>Merges the two sightings of a message moved during listing, keeping the cur/ one.</summary>
    private static int RemoveDuplicates(Span<MaildirEntry> sorted)
    {
        if (sorted.Length < 2) return sorted.Length;
        var kept = 1;
        for (var i = 1; i < sorted.Length; i++)
        {
            ref var last = ref sorted[kept - 1];
            if (string.Equals(last.BaseName, sorted[i].BaseName, StringComparison.Ordinal))
            {
                if (sorted[i].Folder == MaildirFolder.Cur) last = sorted[i];
                continue;
            }
            sorted[kept++] = sorted[i];
        }
        return kept;
    }

    /// <summary>
    /// Gives every entry without W= its size from the index, or by reading it (then indexing it).
    /// Entries that vanished or are not regular files get Size -1. Returns how many were read.
    /// </summary>
    private static async Task<int> FillSizesAsync(string maildir, MaildirEntry[] sorted, ILogger logger, bool fsync, CancellationToken cancellationToken)
    {
        if (!Array.Exists(sorted, static e => e.Size < 0)) return 0;
        var index = SizeIndex.Apply(maildir, sorted);
        if (index.Damaged) MaildirLog.IndexDamaged(logger, maildir);

        var counted = 0;
        for (var i = 0; i < sorted.Length; i++)
        {
            if (sorted[i].Size >= 0) continue;
            sorted[i].Size = await CountAsync(maildir, sorted, i, logger, cancellationToken).ConfigureAwait(false);
            if (sorted[i].Size >= 0) counted++;
        }

        // Rewrite only when something changed: new sizes, damage, or lines of removed messages.
        if (counted == 0 && !index.Stale) return counted;
        try
        {
            SizeIndex.Write(maildir, sorted, fsync);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            MaildirLog.IndexNotWritten(logger, maildir, ex);
        }
        return counted;
    }

    private static async Task<long> CountAsync(string maildir, MaildirEntry[] entries, int i, ILogger logger, CancellationToken cancellationToken)
    {
        var outcome = MessageFile.TryOpenRead(PathOf(maildir, entries[i]), out var stream);
        if (outcome == MessageFile.Outcome.Missing && TryRelocate(maildir, ref entries[i]))
            outcome = MessageFile.TryOpenRead(PathOf(maildir, entries[i]), out stream);
        if (outcome == MessageFile.Outcome.NotRegularFile) MaildirLog.NotRegularFile(logger, LogText.Of(PathOf(maildir, entries[i]), LogText.PathLimit));
        if (stream is null) return -1;
        await using (stream.ConfigureAwait(false))
            return await MessageOctets.CountAsync(stream, cancellationToken).ConfigureAwait(false);
    }
}
