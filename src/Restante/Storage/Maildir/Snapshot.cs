using System.Buffers;
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
    /// <summary>
    /// Lists and sizes the Maildir. <paramref name="sizingBudget"/> bounds the time spent reading
    /// messages to size them: what is not sized by then is left out of this session (and sized at
    /// a later login), so no file the user planted can hold a login, or its lock, for long.
    /// </summary>
    /// <param name="writeIndex">False for a look without the session lock (<see cref="MaildirStore.ListAsync"/>): the
    /// size index belongs to the session holding the lock, so an outside look never rewrites it.</param>
    public static async Task<MaildirEntry[]> TakeAsync(VerifiedMaildir maildir, ILogger logger, bool fsync, TimeSpan sizingBudget, TimeProvider time,
        CancellationToken cancellationToken, bool writeIndex = true)
    {
        // new/ before cur/: a message another client moves from new/ to cur/ meanwhile is then
        // seen twice (and merged below) rather than missed.
        var list = new List<MaildirEntry>();
        var refused = new RefusedEntries();
        AddFolder(list, maildir, MaildirFolder.New, ref refused);
        AddFolder(list, maildir, MaildirFolder.Cur, ref refused);
        var entries = Sort(list);
        var unique = RemoveDuplicates(entries);
        if (unique < entries.Length) entries = entries[..unique];
        var counted = await FillSizesAsync(maildir, entries, logger, fsync, sizingBudget, time, refused, writeIndex, cancellationToken).ConfigureAwait(false);
        // Vanished files and what is not a regular file were given no size: leave them out (rare, so copy only then).
        if (Array.Exists(entries, static e => e.Size < 0)) entries = Array.FindAll(entries, static e => e.Size >= 0);
        MaildirLog.Opened(logger, maildir.Path, entries.Length, counted);
        return entries;
    }

    /// <summary>
    /// Finds a message again after another client renamed it (new/ to cur/, or new flags): the
    /// same base name with any fields and info. False when it is gone.
    /// </summary>
    public static bool TryRelocate(VerifiedMaildir maildir, ref MaildirEntry entry)
    {
        foreach (var folder in (ReadOnlySpan<MaildirFolder>)[MaildirFolder.Cur, MaildirFolder.New])
        {
            foreach (var found in Posix.ReadDirectory(maildir.Folder(folder), Path.Join(maildir.Path, VerifiedMaildir.FolderName(folder))))
            {
                if (!MaildirName.HasBase(found.Name, entry.BaseName) || KindOf(maildir, folder, found) != Posix.FileKind.Regular) continue;
                entry.Folder = folder;
                entry.FileName = found.Name;
                return true;
            }
        }
        return false;
    }

    /// <summary>The base names in new/ and cur/ now (dot-files left out), for telling which recorded names are messages.</summary>
    public static HashSet<string> BaseNames(VerifiedMaildir maildir)
    {
        var names = new HashSet<string>(StringComparer.Ordinal);
        foreach (var folder in (ReadOnlySpan<MaildirFolder>)[MaildirFolder.New, MaildirFolder.Cur])
            foreach (var found in Posix.ReadDirectory(maildir.Folder(folder), Path.Join(maildir.Path, VerifiedMaildir.FolderName(folder))))
                if (found.Name[0] != '.') names.Add(MaildirName.Base(found.Name).ToString());
        return names;
    }

    /// <summary>
    /// Names that can be messages: regular files, by the directory entry's type (no stat per
    /// file). Dot-files and directories are not messages; a symlink, device, FIFO or socket is
    /// the user's attempt to make us read something else, and is left out and logged.
    /// </summary>
    private static void AddFolder(List<MaildirEntry> list, VerifiedMaildir maildir, MaildirFolder folder, ref RefusedEntries refused)
    {
        foreach (var found in Posix.ReadDirectory(maildir.Folder(folder), Path.Join(maildir.Path, VerifiedMaildir.FolderName(folder))))
        {
            if (found.Name[0] == '.') continue;
            var kind = KindOf(maildir, folder, found);
            if (kind is Posix.FileKind.Directory or null) continue;   // not a message; or gone meanwhile
            if (kind != Posix.FileKind.Regular || found.Name == Posix.UndecodableName)
            {
                refused.Add(maildir, folder, found.Name);
                continue;
            }
            list.Add(new MaildirEntry(folder, found.Name));
        }
    }

    /// <summary>The entry's type; null when it vanished before we could ask.</summary>
    private static Posix.FileKind? KindOf(VerifiedMaildir maildir, MaildirFolder folder, in Posix.DirectoryEntry found)
    {
        if (found.KindKnown) return found.Kind;
        // The file system does not record types in directories: ask without following a link.
        if (found.Name == Posix.UndecodableName) return Posix.FileKind.Other;
        var errno = Posix.TryStatAt(maildir.Folder(folder), found.Name, out var status);
        return errno == 0 ? status.Kind : errno == Posix.ENoEnt ? null : Posix.FileKind.Other;
    }

    /// <summary>Entries left out because they are not regular files: counted, and one logged by name.</summary>
    private struct RefusedEntries
    {
        public int Count;
        public string? Example;

        // The first by name, not by directory order, so the same Maildir logs the same line.
        private string? _exampleName;

        public void Add(VerifiedMaildir maildir, MaildirFolder folder, string name)
        {
            Count++;
            if (_exampleName is not null && string.CompareOrdinal(name, _exampleName) >= 0) return;
            _exampleName = name;
            Example = maildir.PathOf(folder, name == Posix.UndecodableName ? "(a name that is not UTF-8)" : name);
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
    /// Entries that vanished, are not regular files or were not sized within the budget get
    /// Size -1. Returns how many were read.
    /// </summary>
    private static async Task<int> FillSizesAsync(VerifiedMaildir maildir, MaildirEntry[] sorted, ILogger logger, bool fsync,
        TimeSpan sizingBudget, TimeProvider time, RefusedEntries refused, bool writeIndex, CancellationToken cancellationToken)
    {
        if (!Array.Exists(sorted, static e => e.Size < 0))
        {
            LogRefused(logger, maildir, refused);
            return 0;
        }
        var index = SizeIndex.Apply(maildir, sorted);
        if (index.Damaged) MaildirLog.IndexDamaged(logger, maildir.Path);

        var counted = 0;
        var unsized = 0;
        using var budget = new CancellationTokenSource(sizingBudget, time);
        using var linked = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, budget.Token);
        for (var i = 0; i < sorted.Length; i++)
        {
            if (sorted[i].Size >= 0) continue;
            if (budget.IsCancellationRequested)
            {
                unsized++;
                continue;
            }
            try
            {
                sorted[i].Size = await CountAsync(maildir, sorted, i, linked.Token).ConfigureAwait(false);
            }
            catch (OperationCanceledException) when (budget.IsCancellationRequested && !cancellationToken.IsCancellationRequested)
            {
                unsized++;
                continue;
            }
            if (sorted[i].Size >= 0) counted++;
            else if (sorted[i].Size == NotRegular) refused.Add(maildir, sorted[i].Folder, sorted[i].FileName);
        }
        LogRefused(logger, maildir, refused);
        if (unsized > 0) MaildirLog.SizingBudgetSpent(logger, maildir.Path, sizingBudget, unsized);

        // Rewrite only when something changed: new sizes, damage, or lines of removed messages.
        if (!writeIndex || (counted == 0 && !index.Stale)) return counted;
        try
        {
            SizeIndex.Write(maildir, sorted, fsync);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            MaildirLog.IndexNotWritten(logger, maildir.Path, ex);
        }
        return counted;
    }

    private static void LogRefused(ILogger logger, VerifiedMaildir maildir, in RefusedEntries refused)
    {
        if (refused.Count > 0) MaildirLog.NotRegularFiles(logger, maildir.Path, refused.Count, LogText.Of(refused.Example!, LogText.PathLimit));
    }

    // Size of an entry that turned out not to be a regular file when opened (swapped after listing).
    private const long NotRegular = -2;

    /// <summary>
    /// The message's octets after CRLF conversion, reading at most the length fstat gave at open:
    /// a file that grows meanwhile (or claims more than it has) cannot make this read forever.
    /// </summary>
    private static async Task<long> CountAsync(VerifiedMaildir maildir, MaildirEntry[] entries, int i, CancellationToken cancellationToken)
    {
        var outcome = MessageFile.TryOpenRead(maildir, entries[i].Folder, entries[i].FileName, out var stream, out var length);
        if (outcome == MessageFile.Outcome.Missing && TryRelocate(maildir, ref entries[i]))
            outcome = MessageFile.TryOpenRead(maildir, entries[i].Folder, entries[i].FileName, out stream, out length);
        if (outcome == MessageFile.Outcome.NotRegularFile) return NotRegular;
        if (stream is null) return -1;
        await using (stream.ConfigureAwait(false))
            return await MessageOctets.CountAsync(stream, length, cancellationToken).ConfigureAwait(false);
    }
}
