using System.Buffers;
using System.Runtime.InteropServices;
using Microsoft.Extensions.Logging;
using Restante.Protocol;

namespace Restante.Storage.Maildir;

/// <summary>
/// Takes the snapshot a session serves: the messages in <c>new/</c> and <c>cur/</c>, in arrival
/// order, each with its size. Sizes come from the previous listing, from <c>,W=</c> in the name or
/// from the <see cref="SizeIndex"/>, so a known message is never opened; only messages seen for the
/// first time are read.
/// </summary>
internal static class Snapshot
{
    /// <summary>The listing to serve, and what the index must remember about it.</summary>
    /// <param name="Complete">False when messages were left out (not sized within the budget, gone while sized): the next open must list again to find them.</param>
    /// <param name="Unsaved">Changes to the sizes the index file would hold that are not written yet.</param>
    /// <param name="Changes">Messages added, removed or renamed against the previous listing.</param>
    /// <param name="Unsized">Messages the budget left without a size; <paramref name="Full"/> then holds them (size -1) with the rest, for sizing later.</param>
    public readonly record struct Taken(MaildirListing Listing, bool Complete, int Unsaved, int Changes = 0, int Unsized = 0, MaildirListing? Full = null);

    /// <summary>
    /// Lists the folders that may have changed, keeps what <paramref name="previous"/> knew of the
    /// rest, and sizes what is new. <paramref name="sizingBudget"/> bounds the time spent reading
    /// messages to size them: what is not sized by then is left out of this session (and sized at
    /// a later login), so no file the user planted can hold a login, or its lock, for long.
    /// </summary>
    /// <param name="writeIndex">False for a look without the session lock (<see cref="MaildirStore.ListAsync"/>): the
    /// size index belongs to the session holding the lock, so an outside look never rewrites it.</param>
    public static async Task<Taken> TakeAsync(VerifiedMaildir maildir, MaildirListing previous, bool listNew, bool listCur, int unsaved,
        ILogger logger, bool fsync, TimeSpan sizingBudget, TimeProvider time, CancellationToken cancellationToken, bool writeIndex = true,
        CancellationToken abandon = default, IReadOnlyList<byte[]>? newArrivals = null)
    {
        var refused = new RefusedEntries();
        // Not the session's token: a login whose client leaves during the listing still keeps what it listed.
        var scan = MaildirScan.Take(maildir, previous, listNew, listCur, ref refused, abandon, newArrivals);
        var listing = scan.Listing;
        unsaved += scan.Removed;
        var unsized = 0;
        foreach (ref readonly var r in listing.Records) if (r.Size < 0) unsized++;
        var counted = 0;
        var complete = true;
        var leftOver = 0;
        MaildirListing? full = null;
        var index = default(SizeIndex.Outcome);
        var cold = previous.Count == 0;
        if (unsized > 0)
        {
            // The file only knows what an earlier listing sized: worth reading at a first listing
            // (a restart, a small mailbox), not for the few names new since the last one.
            if (cold)
            {
                index = SizeIndex.Apply(maildir, listing);
                if (index.Damaged) MaildirLog.IndexDamaged(logger, maildir.Path);
            }
            (counted, complete, leftOver) = await CountSizesAsync(maildir, listing, logger, sizingBudget, time, refused, cancellationToken).ConfigureAwait(false);
            if (!complete)
            {
                if (leftOver > 0) full = listing;
                listing = SizedOnly(listing);
            }
        }
        else LogRefused(logger, maildir, refused);
        MaildirLog.Opened(logger, maildir.Path, listing.Count, counted);
        var changes = scan.Added + scan.Removed + scan.Renamed;

        unsaved += counted;
        // Rewrite when the file would miss more than a little: at a first listing when anything
        // changed (new sizes, damage, lines of removed messages); later once the changes add up to
        // a thousandth of the mailbox, so a huge mailbox is not rewritten at every delivery and a
        // restart reads at most that many messages again.
        var write = cold ? counted > 0 || index.Stale : unsaved > listing.Count / 1024;
        if (writeIndex && write) unsaved = WriteSizeIndex(maildir, listing, logger, fsync, unsaved);
        return new Taken(listing, complete, unsaved, changes, leftOver, full);
    }

    /// <summary>
    /// Sizes what a login's budget left unsized in <paramref name="full"/> (a first listing of a huge
    /// Maildir, see <see cref="MaildirIndex"/>), within <paramref name="budget"/>, and writes the size index.
    /// </summary>
    public static async Task<Taken> SizeRestAsync(VerifiedMaildir maildir, MaildirListing full, ILogger logger, bool fsync, TimeSpan budget,
        TimeProvider time, CancellationToken cancellationToken)
    {
        var (counted, complete, leftOver) = await CountSizesAsync(maildir, full, logger, budget, time, new RefusedEntries(), cancellationToken).ConfigureAwait(false);
        var listing = complete ? full : SizedOnly(full);
        var unsaved = WriteSizeIndex(maildir, listing, logger, fsync, counted);
        MaildirLog.Opened(logger, maildir.Path, listing.Count, counted);
        return new Taken(listing, complete, unsaved, listing.Count, leftOver);
    }

    private static int WriteSizeIndex(VerifiedMaildir maildir, MaildirListing listing, ILogger logger, bool fsync, int unsaved)
    {
        try
        {
            SizeIndex.Write(maildir, listing, fsync);
            return 0;
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            MaildirLog.IndexNotWritten(logger, maildir.Path, ex);
            return unsaved;
        }
    }

    /// <summary>The listing without the messages that could not be sized.</summary>
    private static MaildirListing SizedOnly(MaildirListing listing) => ListingCopy.Of(listing, sizedOnly: true, withRoom: true);

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

    /// <summary>The entry's type; null when it vanished before we could ask.</summary>
    private static Posix.FileKind? KindOf(VerifiedMaildir maildir, MaildirFolder folder, in Posix.DirectoryEntry found)
    {
        if (found.KindKnown) return found.Kind;
        // The file system does not record types in directories: ask without following a link.
        if (found.Name == Posix.UndecodableName) return Posix.FileKind.Other;
        var errno = Posix.TryStatAt(maildir.Folder(folder), found.Name, out var status);
        return errno == 0 ? status.Kind : errno == Posix.ENoEnt ? null : Posix.FileKind.Other;
    }

    /// <summary>
    /// Reads every message still without a size to count it. Returns how many were counted, and
    /// false when some are left without a size (gone, not regular files, or past the budget).
    /// </summary>
    private static async Task<(int Counted, bool Complete, int LeftOver)> CountSizesAsync(VerifiedMaildir maildir, MaildirListing listing, ILogger logger,
        TimeSpan sizingBudget, TimeProvider time, RefusedEntries refused, CancellationToken cancellationToken)
    {
        var counted = 0;
        var unsized = 0;
        var complete = true;
        using var budget = new CancellationTokenSource(sizingBudget, time);
        using var linked = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, budget.Token);
        for (var i = 0; i < listing.Count; i++)
        {
            if (listing.SizeOf(i) >= 0) continue;
            if (budget.IsCancellationRequested)
            {
                unsized++;
                complete = false;
                continue;
            }
            long size;
            try
            {
                size = await CountAsync(maildir, listing.FolderOf(i), listing.FileNameOf(i), linked.Token).ConfigureAwait(false);
            }
            catch (OperationCanceledException) when (budget.IsCancellationRequested && !cancellationToken.IsCancellationRequested)
            {
                unsized++;
                complete = false;
                continue;
            }
            // A count past what a record holds (2^46) is a planted sparse file, not mail: left out like a file that is gone.
            if (size > MaildirListing.Record.MaxSize) size = -1;
            listing.RecordAt(i).Size = size < 0 ? -1 : size;
            if (size >= 0) counted++;
            else
            {
                complete = false;
                if (size == NotRegular) refused.Add(maildir, listing.FolderOf(i), listing.FileNameOf(i));
            }
        }
        LogRefused(logger, maildir, refused);
        if (unsized > 0) MaildirLog.SizingBudgetSpent(logger, maildir.Path, sizingBudget, unsized);
        return (counted, complete, unsized);
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
    /// -1 when it is gone (renamed since the listing: the next listing finds it under its new name).
    /// </summary>
    private static async Task<long> CountAsync(VerifiedMaildir maildir, MaildirFolder folder, string name, CancellationToken cancellationToken)
    {
        var outcome = MessageFile.TryOpenRead(maildir, folder, name, out var stream, out var length);
        if (outcome == MessageFile.Outcome.NotRegularFile) return NotRegular;
        if (stream is null) return -1;
        await using (stream.ConfigureAwait(false))
            return await MessageOctets.CountAsync(stream, length, cancellationToken).ConfigureAwait(false);
    }
}
