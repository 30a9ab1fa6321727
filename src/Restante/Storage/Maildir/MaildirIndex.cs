using System.Collections.Concurrent;
using Microsoft.Extensions.Logging;

namespace Restante.Storage.Maildir;

/// <summary>
/// The incremental index of each large Maildir this server has opened: the last listing (names,
/// sizes, arrival order; see <see cref="MaildirListing"/>) and the modification times of new/ and
/// cur/ it reflects. At the next open a folder whose time is unchanged, and was already old
/// enough to trust when it was listed, is not listed again; a changed folder is listed and
/// compared with what the index knew (<see cref="MaildirScan"/>), so one delivery into a
/// 100,000-message Maildir costs one directory listing and no sort, no stat and no read of the
/// messages already known. Files others drop in, rename or remove are found by that listing;
/// our own deliveries too (their names carry S= and W=, so nothing needs reading).
/// On disk the <see cref="SizeIndex"/> keeps the sizes, so a restart lists the folders once and
/// reads no message it already sized. Nothing on disk is trusted to skip a listing: after a
/// restart both folders are always listed.
/// </summary>
internal sealed class MaildirIndex
{
    // Small mailboxes list in microseconds; keeping them would only cost memory.
    public const int MinimumEntries = 256;

    // Why the time alone is not trusted right away: a folder's mtime has the resolution of the
    // kernel's clock tick, so a file dropped in during the same tick as the change we listed (a
    // delivery of ours, another MDA's, a rename by a mail client) would leave the time as we
    // recorded it. A folder whose time was within this of our clock when we listed it is listed
    // again at every open until it is older; a change after that moves the time past it. Dovecot
    // follows the same rule for its Maildir sync.
    private static readonly TimeSpan SettleTime = TimeSpan.FromSeconds(2);

    private readonly ConcurrentDictionary<string, State> _byMaildir = new(StringComparer.Ordinal);

    private sealed record State(MaildirListing Listing, Stamp Stamp, int Unsaved);

    /// <summary>The listing for a session that holds the Maildir's lock (no other session of ours changes it meanwhile).</summary>
    public async Task<MaildirListing> OpenAsync(VerifiedMaildir maildir, ILogger logger, bool fsync, TimeSpan sizingBudget, TimeProvider time,
        CancellationToken cancellationToken)
    {
        // Before listing: a change made while we list then moves the time past what we record.
        var stamp = Stamp.Read(maildir, time);
        _byMaildir.TryGetValue(maildir.Path, out var known);
        var listNew = known is null || !known.Stamp.NewSettled || known.Stamp.New != stamp.New;
        var listCur = known is null || !known.Stamp.CurSettled || known.Stamp.Cur != stamp.Cur;
        if (!listNew && !listCur) return known!.Listing;

        var taken = await Snapshot.TakeAsync(maildir, known?.Listing ?? MaildirListing.Empty, listNew, listCur, known?.Unsaved ?? 0,
            logger, fsync, sizingBudget, time, cancellationToken).ConfigureAwait(false);
        if (known is not null && !(listNew && listCur))
        {
            // A mail client that moved a message from new/ to cur/ while only one folder was listed took it out of the
            // listed one and put it into the one we trusted unchanged: it would be missing from this session, and a
            // client that keeps mail on the server would forget its UIDL and fetch it again later. So when the other
            // folder's time moved meanwhile, both are listed.
            var after = Stamp.Read(maildir, time);
            if ((!listCur && after.Cur != stamp.Cur) || (!listNew && after.New != stamp.New))
            {
                stamp = after;
                taken = await Snapshot.TakeAsync(maildir, known.Listing, true, true, known.Unsaved,
                    logger, fsync, sizingBudget, time, cancellationToken).ConfigureAwait(false);
            }
        }
        if (taken.Listing.Count < MinimumEntries)
        {
            _byMaildir.TryRemove(maildir.Path, out _);
            return taken.Listing;
        }
        // Messages left out this time must be looked for again next time, whatever the times say.
        var recorded = taken.Complete ? stamp : stamp with { NewSettled = false, CurSettled = false };
        _byMaildir[maildir.Path] = new State(taken.Listing, recorded, taken.Unsaved);
        return taken.Listing;
    }

    /// <summary>The modification times of new/ and cur/, and whether each is old enough to trust.</summary>
    public readonly record struct Stamp(DateTime New, DateTime Cur, bool NewSettled, bool CurSettled)
    {
        public static Stamp Read(VerifiedMaildir maildir, TimeProvider time)
        {
            // The folders opened at login, not the paths: those may have been swapped since.
            var newTime = Posix.Stat(maildir.New).LastWriteUtc;
            var curTime = Posix.Stat(maildir.Cur).LastWriteUtc;
            var now = time.GetUtcNow().UtcDateTime;
            return new Stamp(newTime, curTime, now - newTime > SettleTime, now - curTime > SettleTime);
        }
    }
}
