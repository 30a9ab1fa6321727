using System.Collections.Concurrent;
using Microsoft.Extensions.Logging;
using Microsoft.Win32.SafeHandles;

namespace Restante.Storage.Maildir;

/// <summary>
/// The incremental index of each Maildir this server has opened: the last listing (names,
/// sizes, arrival order; see <see cref="MaildirListing"/>) and the <see cref="FolderStamp"/>s of
/// new/ and cur/ it reflects. At the next open a folder whose stamp is unchanged, and was already
/// old enough to trust when it was listed, is not listed again; a changed folder is listed and
/// compared with what the index knew (<see cref="MaildirScan"/>), so one delivery into a
/// 100,000-message Maildir costs one directory listing and no sort, no stat and no read of the
/// messages already known. Files others drop in, rename or remove are found by that listing.
/// Our own deliveries are recorded as they happen (<see cref="RecordDelivery"/>), so they cost no
/// listing at all.
/// On disk the listing is kept in <see cref="ListingFile"/> (a restart reads it instead of listing
/// an unchanged folder) and the sizes in the <see cref="SizeIndex"/> (a restart whose listing file is
/// gone or refused lists the folders but reads no message it already sized).
/// In memory the index holds at most <see cref="MaxBytes"/> of listings; the least recently opened
/// mailboxes go first.
/// A small mailbox (fewer than <see cref="MinimumEntries"/> messages) is kept in memory only, cut to size
/// (<see cref="SmallListing"/>): a login that finds its folders' stamps unchanged lists nothing and reads no file,
/// but nothing of it is written to disk, so a restart lists it once, as every login did before.
/// </summary>
internal sealed partial class MaildirIndex(long maxBytes = MaildirIndex.DefaultMaxBytes)
{
    // The fewest messages whose listing is also written to restante-listing and re-checked in the background once
    // its folders settle. A smaller mailbox is kept in memory only: a file would be rewritten after nearly every change
    // (the file's rule is a thousandth of the mailbox, i.e. every change below 1,024) to save one listing of a few dozen
    // names after a restart, and a background re-check costs as much as the listing it saves a later login.
    public const int MinimumEntries = 256;

    // About eight 1,000,000-message listings or seven hundred of 10,000 messages.
    public const long DefaultMaxBytes = 512L * 1024 * 1024;

    // A first listing that leaves this many messages without a size after its budget is a huge
    // mailbox seen for the first time, not a few files planted to be slow (those are left out of
    // the session as before): see OpenAsync.
    public const int BackgroundSizingThreshold = 1024;

    // How long the background sizing of a first listing may read messages in all.
    private static readonly TimeSpan BackgroundSizingBudget = TimeSpan.FromMinutes(10);

    // Our own deliveries recorded since the last listing of new/; past this the next open lists new/.
    private const int MaxPendingDeliveries = 4096;

    // Why the time alone is not trusted right away: a folder's times have the resolution of the
    // kernel's clock tick, so a file dropped in during the same tick as the change we listed (a
    // delivery of ours, another MDA's, a rename by a mail client) would leave the times as we
    // recorded them. A folder whose time was within this of our clock when we listed it is listed
    // again at every open until it is older; a change after that moves the time past it. Dovecot
    // follows the same rule for its Maildir sync.
    private static readonly TimeSpan SettleTime = TimeSpan.FromSeconds(2);

    // How long after a folder has settled its background re-check runs (see ScheduleRecheck), and how many times a
    // re-check that finds the folder changed again waits once more.
    private static readonly TimeSpan RecheckMargin = TimeSpan.FromMilliseconds(250);
    private const int MaxRecheckAttempts = 3;

    private readonly ConcurrentDictionary<string, State> _byMaildir = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, Task> _building = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, Task> _rechecking = new(StringComparer.Ordinal);
    // The re-check listing a Maildir now, cancelled by a login that starts meanwhile (see RecheckAsync). Never disposed:
    // a source without a timer or wait handle holds nothing, and a login may cancel one the re-check has just let go.
    private readonly ConcurrentDictionary<string, CancellationTokenSource> _recheckListing = new(StringComparer.Ordinal);
    // Maildirs a login is opening now: a re-check about to list one gives up.
    private readonly ConcurrentDictionary<string, byte> _opening = new(StringComparer.Ordinal);
    private readonly Lock _evicting = new();
    private long _bytes;
    private long _clock;

    /// <summary>The most the listings kept in memory may take together.</summary>
    public long MaxBytes { get; } = maxBytes;

    /// <summary>What the listings kept in memory take now (an estimate: names, records, lookup table).</summary>
    public long Bytes => Interlocked.Read(ref _bytes) + Watch.Bytes;

    /// <summary>The Maildirs whose listing is kept, for tests.</summary>
    internal ICollection<string> Kept => _byMaildir.Keys;

    /// <summary>How many times a folder was listed (new/ and cur/ count one each), for tests.</summary>
    internal int FoldersListed => _foldersListed;

    private int _foldersListed;

    /// <param name="Pending">Messages we delivered into new/ since it was last listed (their stamp is in <paramref name="Stamp"/>).</param>
    /// <param name="OnDisk">The stamp <see cref="ListingFile"/> holds for this listing's line; null when none is known.</param>
    /// <param name="ChangesSinceDisk">Messages added, removed or renamed since the file was written.</param>
    private sealed record State(MaildirListing Listing, Stamp Stamp, int Unsaved, PendingDelivery? Pending, Stamp? OnDisk, int ChangesSinceDisk)
    {
        public long LastUse;

        /// <summary>What the state holds in memory, kept under <paramref name="path"/> (see <see cref="SmallListing.Bytes"/>).</summary>
        public long Bytes(string path) => (Listing.Count < MinimumEntries ? SmallListing.Bytes(Listing, path) : Listing.Footprint + 64) + (Pending?.Bytes ?? 0);
    }

    /// <summary>The listing for a session that holds the Maildir's lock (no other session of ours changes it meanwhile).</summary>
    /// <param name="reopen">Opens the Maildir again for a sizing that outlives this open; null: none (the budget's leftovers wait for a later login).</param>
    public async Task<MaildirListing> OpenAsync(VerifiedMaildir maildir, ILogger logger, bool fsync, TimeSpan sizingBudget, TimeProvider time,
        CancellationToken cancellationToken, Func<VerifiedMaildir>? reopen = null)
    {
        if (_building.ContainsKey(maildir.Path)) throw BeingIndexed();
        // A re-check listing this Maildir now would append to the same listing as this login: the second to append copies
        // the whole listing (55 MB for a million messages), and the re-check's result is thrown away anyway once this
        // login has moved the index on. So it gives up: before it appends when it is still listing, or in its sizing
        // (its append then is a copy nobody keeps). Marked first, then the re-check looked for; the re-check registers
        // first, then looks for the mark: with a full fence between each side's write and read, one sees the other.
        var marked = _opening.TryAdd(maildir.Path, 0);
        try
        {
            Interlocked.MemoryBarrier();
            if (_recheckListing.TryGetValue(maildir.Path, out var recheck)) recheck.Cancel();
            return await ListAndKeepAsync(maildir, logger, fsync, sizingBudget, time, cancellationToken, reopen).ConfigureAwait(false);
        }
        finally
        {
            if (marked) _opening.TryRemove(maildir.Path, out _);
        }
    }

    private async Task<MaildirListing> ListAndKeepAsync(VerifiedMaildir maildir, ILogger logger, bool fsync, TimeSpan sizingBudget, TimeProvider time,
        CancellationToken cancellationToken, Func<VerifiedMaildir>? reopen)
    {
        // Before listing: a change made while we list then moves the time past what we record.
        var stamp = Stamp.Read(maildir, time);
        var known = Take(maildir.Path);
        // The path may now name another Maildir (renamed, replaced): nothing of the old one applies.
        if (known is not null && !known.Stamp.SameFolders(stamp)) known = null;
        var inMemory = known is not null;
        known ??= Load(maildir, stamp, logger);
        var watch = Watching(maildir, known, inMemory, ref stamp, time);

        var listed = await ListChangedAsync(maildir, known, stamp, logger, fsync, sizingBudget, time, cancellationToken, writeIndex: true,
            arrivals: watch.Vouches ? watch.Arrivals : null).ConfigureAwait(false);
        if (listed.Taken is not { } taken)
        {
            var unchanged = known! with
            {
                Listing = listed.Previous, Pending = null, ChangesSinceDisk = known.ChangesSinceDisk + listed.Delivered,
                Stamp = watch.Vouches ? stamp : known.Stamp,
            };
            var same = Keep(maildir, unchanged, logger);
            Watch.Confirm(maildir.Path, watch);
            return same;
        }
        stamp = listed.Stamp;
        if (known is null && taken.Full is not null && taken.Unsized >= BackgroundSizingThreshold && reopen is not null)
        {
            // A huge Maildir seen for the first time (a million messages without ,W= take minutes to read): rather than
            // serve the part the budget allowed, which would show the client a mailbox that grows over its next logins
            // (and renumbers it: the sized part is not a prefix of arrival order), the login answers -ERR [SYS/TEMP]
            // (RFC 3206 §4: try again later) and the sizing goes on in the background without the lock, so it does not
            // depend on a client waiting minutes for a reply. The next login finds the whole listing and only lists what
            // changed since. A few slow files (a planted sparse file) stay below the threshold and are left out of the
            // session as before, so they cannot make the mailbox unavailable.
            StartSizing(maildir.Path, taken.Full, stamp, reopen, logger, fsync, time);
            throw BeingIndexed();
        }
        // Messages left out this time must be looked for again next time, whatever the times say.
        var recorded = taken.Complete ? stamp : stamp with { NewSettled = false, CurSettled = false };
        var state = new State(taken.Listing, recorded, taken.Unsaved, null, known?.OnDisk, (known?.ChangesSinceDisk ?? 0) + listed.Delivered + taken.Changes);
        var kept = Keep(maildir, state, logger);
        if (taken.Complete) Watch.Confirm(maildir.Path, watch);
        // A small mailbox's next login lists the unsettled folder itself, which costs what a re-check would. A watched one
        // is re-checked too, although its next login needs no listing while the watch vouches: the re-check is what
        // leaves a settled listing file behind, and without one the first login after a restart (no watch yet) lists
        // the whole unsettled folder (a full run saw the 100k mailbox's cold login take 0.28 s instead of 0.02 s).
        if (taken.Complete && !recorded.Settled && reopen is not null && kept.Count >= MinimumEntries)
            ScheduleRecheck(maildir.Path, recorded, reopen, logger, fsync, sizingBudget, time, 0);
        return kept;
    }

    /// <summary>What <see cref="ListChangedAsync"/> found: <paramref name="Taken"/> is null when no folder had to be listed.</summary>
    /// <param name="Previous">The known listing with our recorded deliveries added.</param>
    /// <param name="Delivered">How many recorded deliveries were added.</param>
    /// <param name="Stamp">The stamps read before the listing that counts.</param>
    private readonly record struct Listed(MaildirListing Previous, int Delivered, Snapshot.Taken? Taken, Stamp Stamp);

    /// <summary>
    /// Lists the folders whose stamp differs from <paramref name="known"/>'s or was not settled, against what the
    /// index knew (with our recorded deliveries added). <paramref name="stamp"/> must have been read before.
    /// </summary>
    /// <param name="abandon">A re-check's: cancelled when a login overtakes it (see <see cref="MaildirScan.Take"/>).</param>
    /// <param name="arrivals">A <see cref="FolderWatch"/> vouches that only these names were added to new/ since
    /// <paramref name="known"/>, and nothing else changed in either folder: neither is listed, whatever the stamps say.</param>
    private async Task<Listed> ListChangedAsync(VerifiedMaildir maildir, State? known, Stamp stamp, ILogger logger, bool fsync, TimeSpan sizingBudget,
        TimeProvider time, CancellationToken cancellationToken, bool writeIndex, CancellationToken abandon = default, IReadOnlyList<byte[]>? arrivals = null)
    {
        var previous = known?.Listing ?? MaildirListing.Empty;
        var listNew = arrivals is null && (known is null || !known.Stamp.NewSettled || known.Stamp.New != stamp.New);
        var listCur = arrivals is null && (known is null || !known.Stamp.CurSettled || known.Stamp.Cur != stamp.Cur);
        var delivered = 0;
        if (known is { Pending: { } pending })
        {
            // Our own deliveries since new/ was listed: added with their sizes, so the listing of new/ that follows reads none of them.
            if (WithDelivered(known.Listing, pending.OldestFirst()) is { } merged)
            {
                previous = merged;
                delivered = merged.Count - known.Listing.Count;
            }
            else listNew = true;
        }
        if (!listNew && !listCur && arrivals is not { Count: > 0 }) return new Listed(previous, delivered, null, stamp);

        Interlocked.Add(ref _foldersListed, (listNew ? 1 : 0) + (listCur ? 1 : 0));
        var taken = await Snapshot.TakeAsync(maildir, previous, listNew, listCur, known?.Unsaved ?? 0,
            logger, fsync, sizingBudget, time, cancellationToken, writeIndex, abandon, listNew ? null : arrivals).ConfigureAwait(false);
        if (known is not null && !(listNew && listCur))
        {
            // A mail client that moved a message from new/ to cur/ while only one folder was listed took it out of the
            // listed one and put it into the one we trusted unchanged: it would be missing from this session, and a
            // client that keeps mail on the server would forget its UIDL and fetch it again later. So when the other
            // folder's time moved meanwhile, both are listed. A watch vouched for cur/ only up to its drain: a move of an
            // arrival (or of a message in new/, when our deliveries made us list it) after that shows in cur/'s time.
            // New/'s own time moves with every delivery after the drain, which the watch keeps for the next login.
            var after = Stamp.Read(maildir, time);
            if ((!listCur && after.Cur != stamp.Cur) || (!listNew && arrivals is null && after.New != stamp.New))
            {
                stamp = after;
                Interlocked.Add(ref _foldersListed, 2);
                taken = await Snapshot.TakeAsync(maildir, previous, true, true, known.Unsaved,
                    logger, fsync, sizingBudget, time, cancellationToken, writeIndex, abandon).ConfigureAwait(false);
            }
        }
        return new Listed(previous, delivered, taken, stamp);
    }

    /// <summary>
    /// After an open that had to record a folder as not yet settled (changed within <see cref="SettleTime"/> of the
    /// listing), lists it again in the background once it has settled, so the next login, and a restart that reads
    /// <see cref="ListingFile"/>, need not list it. The same rule as an open: the stamp is read first and must already
    /// be settled, and the folder is listed, never just trusted because its times did not move (a rename in the same
    /// clock tick as the listing leaves them as they were). Without the Maildir's lock, so no login waits for it:
    /// the result replaces the index's state only if that is still the one the re-check started from.
    /// </summary>
    private void ScheduleRecheck(string path, Stamp recorded, Func<VerifiedMaildir> reopen, ILogger logger, bool fsync, TimeSpan sizingBudget,
        TimeProvider time, int attempt)
    {
        var gate = new TaskCompletionSource();
        if (!_rechecking.TryAdd(path, gate.Task)) return;
        var age = time.GetUtcNow().UtcDateTime - recorded.LatestUtc;
        var wait = SettleTime - age + RecheckMargin;
        if (wait < RecheckMargin) wait = RecheckMargin;
        // A folder time ahead of our clock (set by hand, another host's clock): wait once at most the settle time.
        if (wait > SettleTime + RecheckMargin) wait = SettleTime + RecheckMargin;
        // The timer is made now, before any later change of the clock (a test's fake clock) could pass it by.
        var delay = Task.Delay(wait, time);
        _ = Task.Run(async () =>
        {
            Stamp? again = null;
            try
            {
                await delay.ConfigureAwait(false);
                again = await RecheckAsync(path, reopen, logger, fsync, sizingBudget, time).ConfigureAwait(false);
            }
            catch (Exception ex) when (ex is IOException or UnauthorizedAccessException or RefusedMaildirException or MailStoreException)
            {
                MaildirLog.RecheckFailed(logger, path, ex);
            }
            finally
            {
                _rechecking.TryRemove(path, out _);
                // Changed again meanwhile: wait for that change to settle, a few times at most (a folder that never rests
                // is listed by the logins, as before). Scheduled before this one counts as done, for RecheckedAsync.
                if (again is { } stamp && attempt < MaxRecheckAttempts) ScheduleRecheck(path, stamp, reopen, logger, fsync, sizingBudget, time, attempt + 1);
                gate.SetResult();
            }
        });
    }

    /// <returns>The stamps to wait on when the folders had not settled yet; null when done (or nothing to do).</returns>
    private async Task<Stamp?> RecheckAsync(string path, Func<VerifiedMaildir> reopen, ILogger logger, bool fsync, TimeSpan sizingBudget, TimeProvider time)
    {
        if (_building.ContainsKey(path) || !_byMaildir.TryGetValue(path, out var known) || known.Stamp.Settled) return null;
        using var maildir = reopen();
        var stamp = Stamp.Read(maildir, time);
        if (!known.Stamp.SameFolders(stamp)) return null;
        if (!stamp.Settled) return stamp;
        var overtaken = new CancellationTokenSource();
        _recheckListing[path] = overtaken;
        Listed listed;
        try
        {
            Interlocked.MemoryBarrier();
            // A login under way lists this Maildir itself (see OpenAsync).
            if (_opening.ContainsKey(path)) return StillUnsettled(path);
            // No size index write: that belongs to the session holding the lock (see Snapshot.TakeAsync).
            listed = await ListChangedAsync(maildir, known, stamp, logger, fsync, sizingBudget, time, overtaken.Token, writeIndex: false,
                abandon: overtaken.Token).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (overtaken.IsCancellationRequested)
        {
            return StillUnsettled(path);
        }
        finally
        {
            _recheckListing.TryRemove(new KeyValuePair<string, CancellationTokenSource>(path, overtaken));
        }
        if (listed.Taken is not { } taken || !taken.Complete || taken.Listing.Count < MinimumEntries) return null;
        var state = new State(taken.Listing, listed.Stamp, taken.Unsaved, null, known.OnDisk, known.ChangesSinceDisk + listed.Delivered + taken.Changes);
        // Written whenever it differs from what the file holds, however little: this is what lets a restart read the file
        // alone, and it costs no login anything.
        // A login or a delivery of ours may have moved the entry on (and written the file) while this listed: then the
        // file must not be overwritten with this older listing, which the index would go on taking for the file's.
        if (!_byMaildir.TryGetValue(path, out var current) || !ReferenceEquals(current, known)) return null;
        state = Saved(maildir, state, logger, evenIfFew: true);
        state.LastUse = known.LastUse;
        // Only over the state it started from: an open or a delivery of ours since knows better (or as much).
        if (!_byMaildir.TryUpdate(path, state, known)) return null;
        Interlocked.Add(ref _bytes, state.Bytes(path) - known.Bytes(path));
        Evict(path);
        return listed.Stamp.Settled ? null : listed.Stamp;
    }

    /// <summary>
    /// After a re-check gave way to a login: the login's own re-check may not have been scheduled (this one was still
    /// registered), so the entry's stamp, when it is still not settled, is waited on again.
    /// </summary>
    private Stamp? StillUnsettled(string path) => _byMaildir.TryGetValue(path, out var now) && !now.Stamp.Settled ? now.Stamp : null;

    /// <summary>Completes when no background re-check of <paramref name="path"/> is pending (for tests).</summary>
    internal async Task RecheckedAsync(string path)
    {
        while (_rechecking.TryGetValue(path, out var task)) await task.ConfigureAwait(false);
    }

    /// <summary>
    /// Records a message we just renamed into new/, so the next open knows its name and size without reading it. new/ is
    /// still listed at that open: the stamp read after our rename cannot vouch for the folder, because another MDA's
    /// rename in the same clock tick (or a second delivery of ours racing this one) leaves
    /// the same times, and trusting it would hide that message until new/ changed again.
    /// </summary>
    /// <remarks>
    /// The stamp is read from the new/ descriptor the delivery renamed into, and only for a Maildir the index holds (one
    /// not opened since the start, or evicted, is simply listed at its next open): an open descriptor keeps its folder,
    /// so there is no "same folder" to check, and the times are kept only as unsettled.
    /// </remarks>
    public void RecordDelivery(string maildir, SafeFileHandle newFolder, string name, long size)
    {
        if (!_byMaildir.ContainsKey(maildir)) return;
        var after = FolderStamp.Read(newFolder);
        while (_byMaildir.TryGetValue(maildir, out var state))
        {
            // A small mailbox keeps no names of its deliveries: new/ is listed at its next open anyway and our names carry
            // W=, so they would save nothing, and a quarter of a million small mailboxes that only receive would each
            // grow a list the budget does not count.
            var updated = (state.Pending?.Count ?? 0) < MaxPendingDeliveries && state.Listing.Count >= MinimumEntries
                ? state with { Stamp = state.Stamp with { New = after, NewSettled = false }, Pending = new PendingDelivery(name, size, state.Pending) }
                : state with { Stamp = state.Stamp with { New = after, NewSettled = false }, Pending = null };
            updated.LastUse = state.LastUse;
            if (!_byMaildir.TryUpdate(maildir, updated, state)) continue;
            // The names wait in memory until the next open: counted in the budget like the listing they join.
            Interlocked.Add(ref _bytes, updated.Bytes(maildir) - state.Bytes(maildir));
            Evict(maildir);
            return;
        }
    }

    private static MailStoreException BeingIndexed() =>
        new(MailStoreErrorKind.Transient, "The mailbox is being indexed for the first time; try again in a minute.");

    private State? Take(string path)
    {
        if (!_byMaildir.TryGetValue(path, out var state)) return null;
        state.LastUse = Interlocked.Increment(ref _clock);
        return state;
    }

    /// <summary>The listing file, when it proves itself and describes these very folders.</summary>
    private static State? Load(VerifiedMaildir maildir, Stamp now, ILogger logger)
    {
        var rejection = ListingFile.TryRead(maildir, out var content);
        if (rejection != ListingFile.Rejection.None)
        {
            if (rejection != ListingFile.Rejection.Missing) MaildirLog.ListingFileRefused(logger, maildir.Path, rejection.ToString());
            return null;
        }
        if (!content.Stamp.SameFolders(now)) return null;
        return new State(content.Listing, content.Stamp, 0, null, content.Stamp, 0);
    }

    /// <summary>The state, with the listing file rewritten first when it is due.</summary>
    /// <param name="evenIfFew">Also when a settled listing differs from the file's by only a few changes.</param>
    private static State Saved(VerifiedMaildir maildir, State state, ILogger logger, bool evenIfFew = false)
    {
        // Rewrite the file when it misses more than a little (as the size index: a thousandth of the mailbox, so a huge
        // one is not rewritten at every delivery, and a restart lists at most that many changes again), when there is
        // none, or when this listing is proven (both folders settled) and the file's is not: that is what lets a restart
        // read the file alone.
        var onDisk = state.OnDisk;
        var write = onDisk is null || state.ChangesSinceDisk > state.Listing.Count / 1024
            || (state.Stamp.Settled && !onDisk.Value.Settled)
            || (evenIfFew && state.Stamp.Settled && onDisk.Value != state.Stamp);
        // A small listing is kept in memory only (see MinimumEntries); a file left from when the mailbox was large stays
        // as it was: a restart compares its stamps, which have moved since, and lists the folders.
        if (!write || state.Pending is not null || state.Listing.Count < MinimumEntries) return state;
        try
        {
            ListingFile.Write(maildir, state.Listing, state.Stamp);
            return state with { OnDisk = state.Stamp, ChangesSinceDisk = 0 };
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            MaildirLog.ListingFileNotWritten(logger, maildir.Path, ex);
            return state;
        }
    }

    /// <returns>The listing kept: a small one cut to size, which the session should serve so that it is held once.</returns>
    private MaildirListing Keep(VerifiedMaildir maildir, State state, ILogger logger)
    {
        state = Saved(maildir, state, logger);
        State? replaced = null;
        if (state.Listing.Count < MinimumEntries && (!_byMaildir.TryGetValue(maildir.Path, out replaced) || !ReferenceEquals(replaced.Listing, state.Listing)))
            state = state with { Listing = SmallListing.Cut(state.Listing) };
        state.LastUse = Interlocked.Increment(ref _clock);
        // The factory that ran last is the one whose result went in: an update that lost to an eviction's removal is
        // retried as an add, and must not subtract the evicted entry's bytes a second time.
        _byMaildir.AddOrUpdate(maildir.Path, _ =>
        {
            replaced = null;
            return state;
        }, (_, old) =>
        {
            replaced = old;
            return state;
        });
        Interlocked.Add(ref _bytes, state.Bytes(maildir.Path) - (replaced?.Bytes(maildir.Path) ?? 0));
        Evict(maildir.Path);
        return state.Listing;
    }

    private void Forget(string path)
    {
        if (!_byMaildir.TryRemove(path, out var old)) return;
        Interlocked.Add(ref _bytes, -old.Bytes(path));
        Watch.Remove(path);
    }

    /// <summary>Drops <paramref name="state"/> only if it is still the entry (a login may have kept a newer one since).</summary>
    private void Forget(string path, State state)
    {
        if (!_byMaildir.TryRemove(new KeyValuePair<string, State>(path, state))) return;
        Interlocked.Add(ref _bytes, -state.Bytes(path));
        Watch.Remove(path);
    }

    // Eviction goes down to this share of MaxBytes in one pass, so a full index holding a hundred thousand small
    // mailboxes is scanned and sorted once per few thousand logins, not once per login.
    private const int EvictToEighths = 7;

    /// <summary>
    /// Drops the least recently opened listings until the rest fit in <see cref="EvictToEighths"/> eighths of
    /// <see cref="MaxBytes"/> (never the one just kept, which is in use). An evicted mailbox is listed afresh at its next
    /// open, as a first one.
    /// </summary>
    private void Evict(string keep)
    {
        if (Bytes <= MaxBytes) return;
        lock (_evicting)
        {
            if (Bytes <= MaxBytes) return;
            var target = MaxBytes / 8 * EvictToEighths;
            var byAge = new List<(long LastUse, string Path, State State)>(_byMaildir.Count);
            foreach (var (path, state) in _byMaildir)
                if (path != keep) byAge.Add((state.LastUse, path, state));
            byAge.Sort((x, y) => x.LastUse.CompareTo(y.LastUse));
            foreach (var (lastUse, path, state) in byAge)
            {
                if (Bytes <= target) return;
                // Opened since the snapshot: no longer among the least recently used.
                if (state.LastUse != lastUse) continue;
                Forget(path, state);
            }
        }
    }

    /// <summary>The listing with our deliveries added in arrival order; null when one cannot be added (then new/ is listed).</summary>
    private static MaildirListing? WithDelivered(MaildirListing listing, PendingDelivery[] pending)
    {
        var added = new List<(byte[] Name, long Size)>(pending.Length);
        foreach (var d in pending)
        {
            var name = System.Text.Encoding.UTF8.GetBytes(d.Name);
            if (name.Length > byte.MaxValue || !MaildirListing.Record.Fits(d.Size)) return null;
            // Already there when a listing of new/ raced with the delivery and found it.
            if (listing.FindBase(name.AsSpan(0, MaildirName.BaseLength(name))) >= 0) continue;
            added.Add((name, d.Size));
        }
        if (added.Count == 0) return listing;
        // Our names start with the delivery time, so they follow everything listed before; anything else (a file that
        // claims a later time, two deliveries out of order) is left to a listing of new/, which sorts properly.
        var last = listing.Count > 0 ? listing.BaseOf(listing.Count - 1).ToArray() : null;
        var bytes = 0;
        foreach (var (name, _) in added)
        {
            var baseName = name.AsSpan(0, MaildirName.BaseLength(name));
            if (last is not null && ArrivalOrder.Compare(last, baseName) >= 0) return null;
            last = baseName.ToArray();
            bytes += name.Length;
        }
        // Appended in place (see MaildirListing.Grow): nothing of the known million is copied.
        var growth = MaildirListing.Grow(listing, added.Count, bytes);
        foreach (var (name, size) in added)
        {
            ref var record = ref growth.Add(name);
            record.Folder = MaildirFolder.New;
            // Our delivery names carry W= with the size we wrote.
            record.SizeFromName = true;
            record.Size = size;
        }
        return growth.Finish();
    }

    private void StartSizing(string path, MaildirListing full, Stamp stamp, Func<VerifiedMaildir> reopen, ILogger logger, bool fsync, TimeProvider time)
    {
        // One sizing per Maildir: the placeholder is in the table before the work starts, and only its owner removes it.
        var gate = new TaskCompletionSource();
        if (!_building.TryAdd(path, gate.Task)) return;
        _ = Task.Run(async () =>
        {
            try
            {
                using var maildir = reopen();
                // Another Maildir at that path since: what was listed is not its.
                if (!Stamp.Read(maildir, time).SameFolders(stamp)) return;
                var taken = await Snapshot.SizeRestAsync(maildir, full, logger, fsync, BackgroundSizingBudget, time, CancellationToken.None).ConfigureAwait(false);
                // The stamps from before the listing: whatever changed since is listed again at the next open.
                var recorded = taken.Complete ? stamp : stamp with { NewSettled = false, CurSettled = false };
                if (taken.Listing.Count >= MinimumEntries && !_byMaildir.ContainsKey(path))
                    Keep(maildir, new State(taken.Listing, recorded, taken.Unsaved, null, null, taken.Changes), logger);
            }
            catch (Exception ex) when (ex is IOException or UnauthorizedAccessException or RefusedMaildirException)
            {
                MaildirLog.BackgroundSizingFailed(logger, path, ex);
            }
            finally
            {
                _building.TryRemove(path, out _);
                gate.SetResult();
            }
        });
    }

    /// <summary>Completes when no background sizing of <paramref name="path"/> runs (for tests).</summary>
    internal Task SizedAsync(string path) => _building.TryGetValue(path, out var task) ? task : Task.CompletedTask;

    /// <summary>The stamps of new/ and cur/, and whether each is old enough to trust.</summary>
    public readonly record struct Stamp(FolderStamp New, FolderStamp Cur, bool NewSettled, bool CurSettled)
    {
        public static Stamp Read(VerifiedMaildir maildir, TimeProvider time)
        {
            // Relative to the root verified at login (see VerifiedMaildir.StampOf).
            var newStamp = maildir.StampOf(MaildirFolder.New);
            var curStamp = maildir.StampOf(MaildirFolder.Cur);
            var now = time.GetUtcNow().UtcDateTime;
            return new Stamp(newStamp, curStamp, now - newStamp.LatestUtc > SettleTime, now - curStamp.LatestUtc > SettleTime);
        }

        public bool SameFolders(in Stamp other) => New.SameFolder(other.New) && Cur.SameFolder(other.Cur);

        /// <summary>Both folders were old enough to trust when the stamp was read.</summary>
        public bool Settled => NewSettled && CurSettled;

        /// <summary>The later of the two folders' times.</summary>
        public DateTime LatestUtc => New.LatestUtc > Cur.LatestUtc ? New.LatestUtc : Cur.LatestUtc;
    }
}
