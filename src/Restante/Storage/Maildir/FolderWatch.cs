using System.Runtime.InteropServices;
using Microsoft.Win32.SafeHandles;

namespace Restante.Storage.Maildir;

/// <summary>
/// Watches new/ and cur/ of the large Maildirs the index keeps, so a login need not list a million-name new/ to find
/// the one message dropped in since the last login: one inotify instance for the whole index, its queue read at each
/// login (non-blocking, until empty, under one lock), so everything that completed before the login began is known to it.
/// The watch only ever says "these names were added to new/ and nothing else happened" (<see cref="Delta.Vouches"/>);
/// anything else it saw (a removal or rename in new/, any change in cur/, a lost event, a watch gone, too many changes
/// to hold) is a doubt, and a doubt sends the login down the ordinary path, which decides from the folders' stamps
/// what to list. A watch is added before the stamps are read for the login that starts it, and it vouches only from
/// the login after one that completed with it in place (<see cref="Confirm"/>): the index's listing then reflects the
/// folder at some moment after the watch began, and replaying additions seen since then onto it is harmless even for
/// names the listing already has (they are found as known).
/// </summary>
internal sealed class FolderWatch
{
    private const uint Mask = Inotify.InCreate | Inotify.InMovedTo | Inotify.InDelete | Inotify.InMovedFrom
        | Inotify.InDeleteSelf | Inotify.InMoveSelf;

    // A record's names and bookkeeping, counted in the index's budget and in a Maildir's cap: name bytes plus a list entry
    // (16), a byte array's header and padding (24 to 32) and the list's spare capacity.
    private const int PerName = 64;

    // The most a login's drain reads before it gives up on the queue: a user who keeps flooding a watched folder could
    // otherwise hold the lock (and every large Maildir's login) for as long as the flood lasts. Twice a full default
    // queue (16,384 events of at most 16 + 256 bytes).
    private const int MaxDrainBytes = 8 * 1024 * 1024;

    private readonly Lock _lock = new();
    private readonly Dictionary<string, Watched> _byMaildir = new(StringComparer.Ordinal);
    private readonly Dictionary<int, (Watched Watched, MaildirFolder Folder)> _byWatch = [];
    private readonly byte[] _buffer = new byte[64 * 1024];
    private SafeFileHandle? _instance;
    private bool _unavailable;
    private long _seq;
    private long _bytes;
    // _byMaildir.Count, written under the lock and read without it: Remove is called at every login of a mid-sized
    // Maildir (see MaildirIndex.Watching), and while nothing is watched it need not wait behind another login's drain.
    private int _watched;

    /// <param name="maxMaildirs">The most Maildirs watched at once (two watches each; fs.inotify.max_user_watches is per user, shared with everything else the server's user runs).</param>
    /// <param name="maxBytesPerMaildir">The most a Maildir's record holds between two logins (names and their bookkeeping); past it, a doubt (a user flooding new/ costs a listing, not memory).</param>
    public FolderWatch(int maxMaildirs = 1024, int maxBytesPerMaildir = 64 * 1024)
    {
        MaxMaildirs = maxMaildirs;
        MaxBytesPerMaildir = maxBytesPerMaildir;
    }

    public int MaxMaildirs { get; }

    public int MaxBytesPerMaildir { get; }

    /// <summary>What the records hold in memory now.</summary>
    public long Bytes => Interlocked.Read(ref _bytes);

    /// <summary>The Maildirs watched now, for tests.</summary>
    internal int Count
    {
        get { lock (_lock) return _byMaildir.Count; }
    }

    /// <summary>Whether the Maildir at <paramref name="path"/> is watched now, for tests.</summary>
    internal bool IsWatching(string path)
    {
        lock (_lock) return _byMaildir.ContainsKey(path);
    }

    /// <summary>What a login may take from the watch.</summary>
    /// <param name="Watching">A watch is in place (the Maildir's, as of <paramref name="NewFolder"/> and <paramref name="CurFolder"/>).</param>
    /// <param name="Added">The watch was added by this very call: the stamps must be read after it.</param>
    /// <param name="Vouches">Only the names in <paramref name="Arrivals"/> were added to new/ since the last confirmed login, nothing else changed.</param>
    /// <param name="UpTo">What <see cref="Confirm"/> is given once the login has kept its listing.</param>
    public readonly record struct Delta(bool Watching, bool Added, bool Vouches, IReadOnlyList<byte[]> Arrivals, long UpTo,
        FolderStamp NewFolder, FolderStamp CurFolder)
    {
        public static Delta None => new(false, false, false, [], 0, default, default);
    }

    private sealed class Watched(string path, int newWatch, int curWatch, FolderStamp newFolder, FolderStamp curFolder)
    {
        public string Path { get; } = path;
        public int NewWatch { get; } = newWatch;
        public int CurWatch { get; } = curWatch;
        public FolderStamp NewFolder { get; } = newFolder;
        public FolderStamp CurFolder { get; } = curFolder;
        public readonly List<(long Seq, byte[] Name)> Arrivals = [];
        public int ArrivalBytes;
        public long DoubtAt;
        public long Confirmed;
    }

    /// <summary>
    /// At a login of a large Maildir (holding its lock): reads what the kernel queued, adds a watch when there is none
    /// (and room for one), and says what the watch can vouch for.
    /// </summary>
    public Delta Begin(string path, VerifiedMaildir maildir)
    {
        lock (_lock)
        {
            if (!Drain()) return Delta.None;
            if (!_byMaildir.TryGetValue(path, out var watched))
            {
                if (_byMaildir.Count >= MaxMaildirs || !TryAdd(path, maildir, out watched)) return Delta.None;
                return new Delta(true, true, false, [], _seq, watched.NewFolder, watched.CurFolder);
            }
            if (watched.DoubtAt > watched.Confirmed) return new Delta(true, false, false, [], _seq, watched.NewFolder, watched.CurFolder);
            var arrivals = new byte[watched.Arrivals.Count][];
            for (var i = 0; i < arrivals.Length; i++) arrivals[i] = watched.Arrivals[i].Name;
            return new Delta(true, false, true, arrivals, _seq, watched.NewFolder, watched.CurFolder);
        }
    }

    /// <summary>
    /// The login that took <paramref name="delta"/> kept a complete listing: what was queued up to then is in it. Not called
    /// when the login failed or left messages out: what it took is replayed at the next login.
    /// </summary>
    public void Confirm(string path, in Delta delta)
    {
        if (!delta.Watching) return;
        lock (_lock)
        {
            if (!_byMaildir.TryGetValue(path, out var watched) || watched.NewFolder != delta.NewFolder) return;
            if (delta.UpTo > watched.Confirmed) watched.Confirmed = delta.UpTo;
            var upTo = delta.UpTo;
            var dropped = 0;
            foreach (var (seq, name) in watched.Arrivals)
            {
                if (seq > upTo) break;
                dropped++;
                Release(watched, name.Length);
            }
            watched.Arrivals.RemoveRange(0, dropped);
        }
    }

    /// <summary>Stops watching the Maildir (its listing was evicted or no longer describes these folders).</summary>
    public void Remove(string path)
    {
        if (Volatile.Read(ref _watched) == 0) return;
        lock (_lock)
        {
            if (_byMaildir.TryGetValue(path, out var watched)) Drop(watched);
        }
    }

    private bool TryAdd(string path, VerifiedMaildir maildir, out Watched watched)
    {
        watched = null!;
        if (_instance is null)
        {
            if (_unavailable) return false;
            _instance = Inotify.TryCreate();
            if (_instance is null)
            {
                _unavailable = true;
                return false;
            }
        }
        var newFolder = maildir.New;
        var curFolder = maildir.Cur;
        if (!Inotify.IsLocalFileSystem(newFolder) || !Inotify.IsLocalFileSystem(curFolder)) return false;
        // Read before the watches exist: a failure here leaves no kernel watch behind that nothing would ever remove.
        var newStamp = FolderStamp.Read(newFolder);
        var curStamp = FolderStamp.Read(curFolder);
        var newWatch = Inotify.AddWatch(_instance, newFolder, Mask);
        if (newWatch < 0) return false;
        var curWatch = Inotify.AddWatch(_instance, curFolder, Mask);
        // The same directory twice (new/ and cur/ hard-linked is impossible, but a watch already held by another path of
        // ours is not): inotify returns the existing descriptor, which would then answer for two Maildirs.
        if (curWatch < 0 || curWatch == newWatch || _byWatch.ContainsKey(newWatch) || _byWatch.ContainsKey(curWatch))
        {
            if (!_byWatch.ContainsKey(newWatch)) Inotify.RemoveWatch(_instance, newWatch);
            if (curWatch >= 0 && curWatch != newWatch && !_byWatch.ContainsKey(curWatch)) Inotify.RemoveWatch(_instance, curWatch);
            return false;
        }
        watched = new Watched(path, newWatch, curWatch, newStamp, curStamp);
        // Nothing to vouch for until a login completes with the watch in place.
        watched.DoubtAt = ++_seq;
        _byMaildir[path] = watched;
        Volatile.Write(ref _watched, _byMaildir.Count);
        _byWatch[newWatch] = (watched, MaildirFolder.New);
        _byWatch[curWatch] = (watched, MaildirFolder.Cur);
        Interlocked.Add(ref _bytes, 256);
        return true;
    }

    private void Drop(Watched watched)
    {
        _byMaildir.Remove(watched.Path);
        Volatile.Write(ref _watched, _byMaildir.Count);
        if (_byWatch.Remove(watched.NewWatch)) Inotify.RemoveWatch(_instance!, watched.NewWatch);
        if (_byWatch.Remove(watched.CurWatch)) Inotify.RemoveWatch(_instance!, watched.CurWatch);
        Interlocked.Add(ref _bytes, -256 - watched.ArrivalBytes - (long)watched.Arrivals.Count * PerName);
    }

    /// <summary>Reads every queued event (non-blocking, until EAGAIN) and sorts it to its Maildir. False: the instance failed.</summary>
    private bool Drain()
    {
        if (_instance is null) return !_unavailable;
        var read = 0L;
        while (true)
        {
            var n = Inotify.Read(_instance, _buffer);
            if (n < 0)
            {
                // A read error leaves us not knowing what was lost: every watch goes, and the index works as without them.
                DropAll();
                _instance.Dispose();
                _instance = null;
                _unavailable = true;
                return false;
            }
            if (n == 0) return true;
            read += n;
            if (read > MaxDrainBytes || !TrySortAll(n))
            {
                // A flood this login will not wait out, or events we cannot read: as after a lost event, every watch goes
                // (see Sort); what is still queued for them is ignored, and the next login of each Maildir watches anew.
                DropAll();
                return true;
            }
        }
    }

    /// <summary>Sorts the events in the first <paramref name="n"/> bytes of the buffer; false when they do not parse.</summary>
    private bool TrySortAll(int n)
    {
        // struct inotify_event, in the machine's byte order: int wd, uint32 mask, uint32 cookie, uint32 len, char name[len]
        // (NUL-padded). The kernel returns whole events only.
        for (var at = 0; at + 16 <= n;)
        {
            var wd = MemoryMarshal.Read<int>(_buffer.AsSpan(at));
            var mask = MemoryMarshal.Read<uint>(_buffer.AsSpan(at + 4));
            var length = MemoryMarshal.Read<uint>(_buffer.AsSpan(at + 12));
            if (length > (uint)(n - at - 16)) return false;
            var name = _buffer.AsSpan(at + 16, (int)length);
            var end = name.IndexOf((byte)0);
            if (end >= 0) name = name[..end];
            at += 16 + (int)length;
            Sort(wd, mask, name);
        }
        return true;
    }

    private void DropAll()
    {
        foreach (var watched in _byMaildir.Values.ToArray()) Drop(watched);
    }

    private void Sort(int wd, uint mask, ReadOnlySpan<byte> name)
    {
        var seq = ++_seq;
        if ((mask & Inotify.InQueueOverflow) != 0)
        {
            // Events were lost, anyone's, and a lost IN_DELETE_SELF among them would leave a watch on a folder that is
            // gone while a new one (possibly with the same inode number) took its place: every watch goes, and the next
            // login of each Maildir goes down the ordinary path and watches anew.
            DropAll();
            return;
        }
        if (!_byWatch.TryGetValue(wd, out var target)) return;   // a watch we already dropped
        var watched = target.Watched;
        if ((mask & (Inotify.InIgnored | Inotify.InDeleteSelf | Inotify.InMoveSelf | Inotify.InUnmount)) != 0)
        {
            // The folder was removed, renamed or unmounted: the watch no longer follows the folder the index lists.
            Drop(watched);
            return;
        }
        // A directory made in new/ or cur/ is not a message (a listing skips it too).
        if ((mask & Inotify.InIsDir) != 0) return;
        if (target.Folder == MaildirFolder.New && (mask & (Inotify.InCreate | Inotify.InMovedTo)) != 0
            && name.Length is > 0 and <= byte.MaxValue
            && watched.ArrivalBytes + (long)(watched.Arrivals.Count + 1) * PerName + name.Length <= MaxBytesPerMaildir)
        {
            watched.Arrivals.Add((seq, name.ToArray()));
            watched.ArrivalBytes += name.Length;
            Interlocked.Add(ref _bytes, name.Length + PerName);
            return;
        }
        // A removal or a rename in new/, any change in cur/ (flags, deletions, moves from new/), a name we would not hold.
        Doubt(watched, seq);
    }

    /// <summary>Nothing before <paramref name="seq"/> can be vouched for: the names kept so far are no use any more.</summary>
    private void Doubt(Watched watched, long seq)
    {
        watched.DoubtAt = seq;
        foreach (var (_, name) in watched.Arrivals) Release(watched, name.Length);
        watched.Arrivals.Clear();
    }

    private void Release(Watched watched, int length)
    {
        watched.ArrivalBytes -= length;
        Interlocked.Add(ref _bytes, -length - PerName);
    }
}
