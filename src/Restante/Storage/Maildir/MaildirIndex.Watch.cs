namespace Restante.Storage.Maildir;

// The index's use of a FolderWatch: which Maildirs are watched, and when a login may trust the watch instead of listing.
internal sealed partial class MaildirIndex
{
    /// <summary>
    /// The fewest messages for which the folders are watched (see <see cref="FolderWatch"/>): below it a listing of new/
    /// costs a few milliseconds at most, and watches are a per-user kernel resource (fs.inotify.max_user_watches) shared
    /// with whatever else the server's user runs.
    /// </summary>
    public const int DefaultWatchThreshold = 4096;

    /// <summary>The watches of the large Maildirs kept (one inotify instance for the whole index).</summary>
    internal FolderWatch Watch { get; init; } = new();

    /// <summary>The fewest messages a kept listing has for its folders to be watched.</summary>
    internal int WatchThreshold { get; init; } = DefaultWatchThreshold;

    /// <summary>
    /// What the watch of a large Maildir says at this login. A watch added now re-reads <paramref name="stamp"/>: the login
    /// that starts a watch must list (or trust the stamps) as of a moment after the watch began, or a change in between
    /// would be in neither. A watch of other folders than the ones at the path now is dropped.
    /// </summary>
    private FolderWatch.Delta Watching(VerifiedMaildir maildir, State? known, bool inMemory, ref Stamp stamp, TimeProvider time)
    {
        // A small mailbox (most logins) does not even take the watch's lock; one that shrank that far keeps its watch until
        // its listing is evicted, holding at most FolderWatch.MaxBytesPerMaildir.
        if (known is null || known.Listing.Count < MinimumEntries) return FolderWatch.Delta.None;
        if (known.Listing.Count < WatchThreshold)
        {
            // Shrunk below the threshold since (or never above it): a watch left in place would go on holding names.
            Watch.Remove(maildir.Path);
            return FolderWatch.Delta.None;
        }
        var watch = Watch.Begin(maildir.Path, maildir);
        if (!watch.Watching) return watch;
        if (!SameDirectory(watch.NewFolder, stamp.New) || !SameDirectory(watch.CurFolder, stamp.Cur))
        {
            Watch.Remove(maildir.Path);
            return FolderWatch.Delta.None;
        }
        // A listing read from the file was made before the watch: it is brought up to date the ordinary way first. And a
        // cur/ whose stamp moved while the watch saw nothing there means an event the watch missed: not vouched for.
        if (watch.Vouches && (!inMemory || known.Stamp.Cur != stamp.Cur)) watch = watch with { Vouches = false };
        // A login the watch does not vouch for decides from the stamps, and its Confirm then forgets every event queued up
        // to the drain in Begin: so the stamps must be read after that drain, or a change made between the first reading
        // and the drain would be in neither (the stamps would say unchanged and the event would be confirmed away). One
        // that vouches keeps the stamps read before: whatever changed after them and before the drain is in its arrivals
        // (or was a doubt, and then it would not vouch).
        if (!watch.Vouches) stamp = Stamp.Read(maildir, time);
        return watch;
    }

    private static bool SameDirectory(FolderStamp watched, FolderStamp now) => watched.Device == now.Device && watched.Inode == now.Inode;
}
