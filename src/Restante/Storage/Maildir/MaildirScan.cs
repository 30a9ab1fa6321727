using System.Text;
using System.Text.Unicode;

namespace Restante.Storage.Maildir;

/// <summary>
/// Lists <c>new/</c> and/or <c>cur/</c> and compares what it finds with the previous listing: a
/// name already known keeps its size and place, a known base under a new name (flags changed,
/// moved to cur/) is renamed, an unknown name is added, and a known message of a listed folder
/// that was not found is gone. The names are compared as the bytes getdents64 returns, so a
/// 100,000-name folder is compared without a string per name; only what is new is parsed.
/// </summary>
internal static class MaildirScan
{
    /// <summary>The new listing (sizes of added names without W= still -1) and what changed.</summary>
    public readonly record struct Result(MaildirListing Listing, int Added, int Removed, int Renamed);

    /// <param name="previous">What the index knew; <see cref="MaildirListing.Empty"/> for a first listing.</param>
    /// <param name="listNew">False: new/ is unchanged since <paramref name="previous"/>, its records are kept as they are.</param>
    /// <param name="listCur">Likewise for cur/.</param>
    /// <param name="abandon">Checked once the folders are listed, before anything is appended to <paramref name="previous"/>'s
    /// buffers: a background re-check that a login has overtaken gives up there rather than claim the room the login's
    /// append needs (it would then have to copy every name and record of the mailbox).</param>
    /// <param name="newArrivals">With <paramref name="listNew"/> false: names a <see cref="FolderWatch"/> saw added to new/ (and
    /// nothing else change there), taken as if a listing had found them beside everything <paramref name="previous"/> holds.</param>
    public static Result Take(VerifiedMaildir maildir, MaildirListing previous, bool listNew, bool listCur, ref RefusedEntries refused,
        CancellationToken abandon = default, IReadOnlyList<byte[]>? newArrivals = null)
    {
        var collector = new Collector(maildir, previous);
        // new/ before cur/: a message another client moves from new/ to cur/ meanwhile is then
        // seen twice (the cur/ sighting wins) rather than missed.
        if (listNew) collector.List(MaildirFolder.New);
        else if (newArrivals is { Count: > 0 }) collector.Arrived(MaildirFolder.New, newArrivals);
        if (listCur) collector.List(MaildirFolder.Cur);
        refused = collector.Refused;
        abandon.ThrowIfCancellationRequested();

        // Known messages keep their order (the base, and so the place, never changes).
        var removed = 0;
        for (var i = 0; i < previous.Count; i++)
        {
            var listed = previous.FolderOf(i) == MaildirFolder.New ? listNew : listCur;
            if (listed && collector.State[i] == Collector.Unseen) removed++;
        }

        var fresh = collector.SortedFresh();
        if (removed == 0 && collector.Renames.Count == 0)
        {
            // Nothing changed (a folder listed again only because it had not settled): the listing stays the very same
            // object, with its lookup table, and no second copy of a million names is made.
            if (fresh.Count == 0) return new Result(previous, 0, 0, 0);
            // The usual change of a polled mailbox: new mail after everything known. The new records are appended in
            // place when the known listing's buffers have room (copied once otherwise), and its lookup table is carried over.
            if (previous.Count == 0 || ArrivalOrder.Compare(previous.BaseOf(previous.Count - 1), collector.Found[fresh[0]].Base(collector.Scratch)) < 0)
                return new Result(Appended(previous, collector, fresh), fresh.Count, 0, 0);
        }
        var kept = new List<int>(previous.Count - removed);
        for (var i = 0; i < previous.Count; i++)
        {
            var listed = previous.FolderOf(i) == MaildirFolder.New ? listNew : listCur;
            if (!(listed && collector.State[i] == Collector.Unseen)) kept.Add(i);
        }
        var total = 0;
        foreach (var i in kept) total += collector.Renames.TryGetValue(i, out var to) ? collector.Found[to].Length : previous.Records[i].NameLength;
        foreach (var f in fresh) total += collector.Found[f].Length;

        var names = MaildirListing.NewNames(total);
        var records = MaildirListing.NewRecords(kept.Count + fresh.Count);
        var at = 0;
        var next = 0;
        int k = 0, n = 0;
        while (k < kept.Count || n < fresh.Count)
        {
            // Merge: usually every fresh name sorts after every kept one (new mail), a straight append.
            bool takeKept;
            if (n >= fresh.Count) takeKept = true;
            else if (k >= kept.Count) takeKept = false;
            else takeKept = ArrivalOrder.Compare(previous.BaseOf(kept[k]), collector.Found[fresh[n]].Base(collector.Scratch)) < 0;
            ref var record = ref records[next++];
            if (takeKept)
            {
                var i = kept[k++];
                var old = previous.Records[i];
                if (collector.Renames.TryGetValue(i, out var to))
                {
                    var found = collector.Found[to];
                    collector.Scratch.AsSpan(found.Start, found.Length).CopyTo(names.AsSpan(at));
                    record = Parse(names.AsSpan(at, found.Length), at, found.Folder);
                    // The size is the message's and stays, whatever the new name says.
                    record.Size = old.Size;
                    record.SizeFromName = old.SizeFromName;
                }
                else
                {
                    previous.NameOf(i).CopyTo(names.AsSpan(at));
                    record = old;
                    record.NameStart = at;
                }
            }
            else
            {
                var found = collector.Found[fresh[n++]];
                collector.Scratch.AsSpan(found.Start, found.Length).CopyTo(names.AsSpan(at));
                record = Parse(names.AsSpan(at, found.Length), at, found.Folder);
            }
            at += record.NameLength;
        }
        return new Result(new MaildirListing(names, at, records, next), fresh.Count, removed, collector.Renames.Count);
    }

    /// <summary><paramref name="previous"/> followed by the fresh sightings, which all sort after it (appended in place: see <see cref="MaildirListing.Grow"/>).</summary>
    private static MaildirListing Appended(MaildirListing previous, Collector collector, List<int> fresh)
    {
        var bytes = 0;
        foreach (var f in fresh) bytes += collector.Found[f].Length;
        var growth = MaildirListing.Grow(previous, fresh.Count, bytes);
        foreach (var f in fresh)
        {
            var found = collector.Found[f];
            var name = collector.Scratch.AsSpan(found.Start, found.Length);
            ref var record = ref growth.Add(name);
            record.Folder = found.Folder;
            record.SizeFromName = SizeInName(name, out var size);
            record.Size = size;
        }
        return growth.Finish();
    }

    /// <summary>A record for a name just found: base, and the size when W= carries it (-1 otherwise).</summary>
    private static MaildirListing.Record Parse(ReadOnlySpan<byte> name, int start, MaildirFolder folder)
    {
        var fromName = SizeInName(name, out var size);
        return new MaildirListing.Record
        {
            NameStart = start,
            NameLength = (byte)name.Length,
            BaseLength = (byte)MaildirName.BaseLength(name),
            Folder = folder,
            SizeFromName = fromName,
            Size = size,
        };
    }

    /// <summary>The size W= gives, when a record can hold it (-1 otherwise: the file is read, as for a name without W=).</summary>
    private static bool SizeInName(ReadOnlySpan<byte> name, out long size)
    {
        if (MaildirName.TryGetField(name, (byte)'W', out size) && MaildirListing.Record.Fits(size)) return true;
        size = -1;
        return false;
    }

    private sealed class Collector(VerifiedMaildir maildir, MaildirListing previous) : Posix.IDirectoryVisitor
    {
        public const byte Unseen = 0;
        private const byte Same = 1;
        private const byte Moved = 2;

        private MaildirFolder _folder;
        private byte[] _scratch = new byte[4096];
        private int _used;

        public byte[] State { get; } = new byte[previous.Count];

        /// <summary>Previous record → the sighting under its new name.</summary>
        public Dictionary<int, int> Renames { get; } = [];

        /// <summary>Every name kept from the listing that is not already in <paramref name="previous"/> as it is.</summary>
        public List<Sighting> Found { get; } = [];

        private readonly List<int> _fresh = [];

        public RefusedEntries Refused;

        public byte[] Scratch => _scratch;

        // Names waiting to be looked up in the previous listing together (see MaildirListing.FindBases), in the order listed.
        private readonly byte[] _batch = new byte[MaildirListing.BatchLength * byte.MaxValue];
        private readonly (int Start, int Length)[] _batchBases = new (int, int)[MaildirListing.BatchLength];
        private readonly byte[] _batchNameLengths = new byte[MaildirListing.BatchLength];
        private readonly int[] _batchFound = new int[MaildirListing.BatchLength];
        private int _batchCount;
        private int _batchUsed;

        public void List(MaildirFolder folder)
        {
            _folder = folder;
            Posix.ReadDirectory(maildir.Folder(folder), Path.Join(maildir.Path, VerifiedMaildir.FolderName(folder)), this);
            LookUpBatch();
        }

        /// <summary>Names known to have been added to <paramref name="folder"/>, sorted out as a listing's: their kind is asked (an event does not tell a symlink), one gone meanwhile is skipped.</summary>
        public void Arrived(MaildirFolder folder, IReadOnlyList<byte[]> names)
        {
            _folder = folder;
            foreach (var name in names) Visit(name, Posix.FileKind.Other, kindKnown: false);
            LookUpBatch();
        }

        public void Visit(ReadOnlySpan<byte> name, Posix.FileKind kind, bool kindKnown)
        {
            if (name.IsEmpty || name[0] == (byte)'.') return;
            var valid = Utf8.IsValid(name) && name.IndexOf((byte)0) < 0;
            if (!kindKnown && valid)
            {
                // The file system does not record types in directories: ask without following a link.
                var errno = Posix.TryStatAt(maildir.Folder(_folder), Encoding.UTF8.GetString(name), out var status);
                if (errno == Posix.ENoEnt) return;   // gone meanwhile
                kind = errno == 0 ? status.Kind : Posix.FileKind.Other;
            }
            if (kind == Posix.FileKind.Directory) return;   // not a message
            if (kind != Posix.FileKind.Regular || !valid || name.Length > byte.MaxValue)
            {
                // A symlink, device, FIFO or socket is the user's attempt to make us read something else. A name longer
                // than a listing record's one-octet length (ntfs3, vfat and CIFS return up to 255 UTF-16 units) is refused
                // rather than cut to a prefix that names another file.
                Refused.Add(maildir, _folder, valid ? Encoding.UTF8.GetString(name) : Posix.UndecodableName);
                return;
            }
            if (previous.Count == 0)
            {
                _fresh.Add(Add(name));
                return;
            }
            name.CopyTo(_batch.AsSpan(_batchUsed));
            _batchBases[_batchCount] = (_batchUsed, MaildirName.BaseLength(name));
            _batchNameLengths[_batchCount++] = (byte)name.Length;
            _batchUsed += name.Length;
            if (_batchCount == MaildirListing.BatchLength) LookUpBatch();
        }

        /// <summary>Looks the batched names up in the previous listing and sorts each out, in the order they were listed.</summary>
        private void LookUpBatch()
        {
            if (_batchCount == 0) return;
            previous.FindBases(_batch, _batchBases.AsSpan(0, _batchCount), _batchFound);
            for (var i = 0; i < _batchCount; i++) Sighted(_batch.AsSpan(_batchBases[i].Start, _batchNameLengths[i]), _batchFound[i]);
            _batchCount = 0;
            _batchUsed = 0;
        }

        /// <summary>A name of the folder being listed, <paramref name="known"/> the previous listing's message with its base (-1: none).</summary>
        private void Sighted(ReadOnlySpan<byte> name, int known)
        {
            if (known >= 0)
            {
                var state = State[known];
                if (state == Unseen && previous.FolderOf(known) == _folder && previous.NameOf(known).SequenceEqual(name))
                {
                    State[known] = Same;
                    return;
                }
                // Seen twice (moved to cur/ while we listed): the later sighting, in cur/, wins.
                if (state != Unseen && _folder == MaildirFolder.New) return;
                Renames[known] = Add(name);
                State[known] = Moved;
                return;
            }
            _fresh.Add(Add(name));
        }

        private int Add(ReadOnlySpan<byte> name)
        {
            if (_used + name.Length > _scratch.Length) Array.Resize(ref _scratch, Math.Max(_scratch.Length * 2, _used + name.Length));
            name.CopyTo(_scratch.AsSpan(_used));
            Found.Add(new Sighting(_used, name.Length, _folder));
            _used += name.Length;
            return Found.Count - 1;
        }

        /// <summary>The fresh sightings in arrival order, a message seen in both folders once (its cur/ sighting).</summary>
        public List<int> SortedFresh()
        {
            if (_fresh.Count == 0) return _fresh;
            var keys = new long[_fresh.Count];
            var order = _fresh.ToArray();
            for (var i = 0; i < order.Length; i++)
                // 18 digits at most (MaildirName.TryGetTime), so MaxValue is after every real time.
                keys[i] = MaildirName.TryGetTime(Found[order[i]].Name(_scratch), out var seconds) ? seconds : long.MaxValue;
            Array.Sort(keys, order);
            var comparer = new BaseOrder(this);
            var runStart = 0;
            for (var i = 1; i <= keys.Length; i++)
            {
                if (i < keys.Length && keys[i] == keys[runStart]) continue;
                if (i - runStart > 1) Array.Sort(order, runStart, i - runStart, comparer);
                runStart = i;
            }
            var unique = new List<int>(order.Length);
            foreach (var f in order)
            {
                if (unique.Count > 0 && Found[unique[^1]].Base(_scratch).SequenceEqual(Found[f].Base(_scratch)))
                {
                    if (Found[f].Folder == MaildirFolder.Cur) unique[^1] = f;
                    continue;
                }
                unique.Add(f);
            }
            return unique;
        }

        private sealed class BaseOrder(Collector collector) : IComparer<int>
        {
            public int Compare(int x, int y) => ArrivalOrder.CompareBases(collector.Found[x].Base(collector._scratch), collector.Found[y].Base(collector._scratch));
        }
    }

    /// <summary>A name found in a folder, kept in the collector's scratch buffer.</summary>
    public readonly record struct Sighting(int Start, int Length, MaildirFolder Folder)
    {
        public ReadOnlySpan<byte> Name(byte[] scratch) => scratch.AsSpan(Start, Length);

        public ReadOnlySpan<byte> Base(byte[] scratch) => scratch.AsSpan(Start, MaildirName.BaseLength(Name(scratch)));
    }
}
