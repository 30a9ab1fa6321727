using System.Text;

namespace Restante.Storage.Maildir;

/// <summary>
/// The messages of a Maildir in arrival order, kept compact enough for a million of them: every
/// file name in one UTF-8 buffer, and per message one 12-byte record (where its name is, its
/// folder, its size). No string and no object per message: a 1,000,000-message mailbox with
/// Postfix-style names is about 50 MB, where a string per name and per UIDL was over 300 MB.
/// Immutable once published: sessions share it, and a session's own renames live beside it
/// (see <see cref="MaildirMaildrop"/>). Strings are made on demand (a UIDL line, an open).
/// </summary>
/// <remarks>
/// New mail is appended in place (<see cref="Grow"/>): the buffers keep room past the last message, and a listing that
/// ends where its buffers' claimed part ends writes the new messages there and shares the buffers (and its lookup
/// table) with the listing that follows. Readers of the earlier listing never look past their own count, so one
/// delivery into a million-message mailbox neither copies a million records nor holds two copies of them in memory.
/// </remarks>
internal sealed class MaildirListing
{
    public static MaildirListing Empty { get; } = new([], 0, [], 0);

    private readonly byte[] _names;
    private readonly Record[] _records;
    private readonly int _namesLength;
    // How far the buffers are taken, shared by every listing over the same buffers; only the listing that ends there
    // may append (see Grow).
    private readonly Claim _claim;
    // Open addressing by base name: slot holds record index + 1, 0 is free. Built on first use, or shared with the
    // listing this one extends (slots of later messages are then skipped: see FindBase).
    private int[]? _byBase;

    /// <param name="names">The names the records point into; <paramref name="namesLength"/> bytes used, the rest is room for appends.</param>
    /// <param name="records">In arrival order, <paramref name="count"/> used; sizes may still be filled in before the listing is published.</param>
    public MaildirListing(byte[] names, int namesLength, Record[] records, int count)
        : this(names, namesLength, records, count, new Claim { Records = count })
    {
    }

    private MaildirListing(byte[] names, int namesLength, Record[] records, int count, Claim claim)
    {
        _names = names;
        _namesLength = namesLength;
        _records = records;
        Count = count;
        _claim = claim;
    }

    internal sealed class Claim
    {
        public int Records;
    }

    /// <summary>Room to leave past <paramref name="used"/> for appends: about 1/64 more, so a copy is rare and the slack small.</summary>
    public static int WithRoom(int used, int least) => (int)Math.Min(Array.MaxLength, used + (long)used / 64 + least);

    /// <summary>Records room for appends to leave after <paramref name="count"/> messages.</summary>
    public static Record[] NewRecords(int count) => new Record[WithRoom(count, 64)];

    /// <summary>A names buffer with room for appends after <paramref name="bytes"/>.</summary>
    public static byte[] NewNames(int bytes) => GC.AllocateUninitializedArray<byte>(WithRoom(bytes, 4096));

    /// <summary>
    /// Room for <paramref name="records"/> more messages of <paramref name="bytes"/> name bytes after <paramref name="previous"/>:
    /// in <paramref name="previous"/>'s own buffers when it is the latest listing over them and they have the room (the
    /// usual case: nothing is copied), otherwise in a copy with room to spare. The caller fills
    /// each added message through <see cref="Growth.Add"/>, then calls <see cref="Growth.Finish"/>. Everything that may make the caller give
    /// up must be decided before: room taken is not given back (a later append then copies).
    /// </summary>
    public static Growth Grow(MaildirListing previous, int records, int bytes)
    {
        var count = previous.Count + records;
        var namesLength = previous._namesLength + bytes;
        if (count <= previous._records.Length && namesLength <= previous._names.Length
            && Interlocked.CompareExchange(ref previous._claim.Records, count, previous.Count) == previous.Count)
            return new Growth(previous, previous._names, previous._records, count, namesLength, previous._claim);
        var names = NewNames(namesLength);
        previous._names.AsSpan(0, previous._namesLength).CopyTo(names);
        var copy = NewRecords(count);
        previous._records.AsSpan(0, previous.Count).CopyTo(copy);
        return new Growth(previous, names, copy, count, namesLength, new Claim { Records = count });
    }

    /// <summary>An append under way (see <see cref="Grow"/>).</summary>
    public sealed class Growth
    {
        private readonly MaildirListing _previous;
        private readonly int _count;
        private readonly int _namesLength;
        private readonly Claim _claim;
        private readonly byte[] _names;
        private readonly Record[] _records;
        private int _nameAt;
        private int _recordAt;

        internal Growth(MaildirListing previous, byte[] names, Record[] records, int count, int namesLength, Claim claim)
        {
            _previous = previous;
            _names = names;
            _records = records;
            _count = count;
            _namesLength = namesLength;
            _claim = claim;
            _nameAt = previous._namesLength;
            _recordAt = previous.Count;
        }

        /// <summary>
        /// Puts <paramref name="name"/> after the names added so far and returns its record, with where the name is and
        /// its base filled in; the caller sets the folder and the size.
        /// </summary>
        public ref Record Add(ReadOnlySpan<byte> name)
        {
            name.CopyTo(_names.AsSpan(_nameAt));
            ref var record = ref _records[_recordAt++];
            record = new Record { NameStart = _nameAt, NameLength = (byte)name.Length, BaseLength = (byte)MaildirName.BaseLength(name) };
            _nameAt += name.Length;
            return ref record;
        }

        /// <summary>
        /// The listing with the added records. Its lookup table is the previous one with the added names put in (shared
        /// when the buffers are, a copy otherwise) while that stays at most half full, so a million names are not hashed
        /// again after one delivery.
        /// </summary>
        public MaildirListing Finish()
        {
            var listing = new MaildirListing(_names, _namesLength, _records, _count, _claim);
            var table = _previous._byBase;
            if (table is null || table.Length < TableLength(_count)) return listing;
            if (!ReferenceEquals(_records, _previous._records))
            {
                // The table may hold names another listing appended to the shared buffers after ours (a re-check that
                // raced a login): their indices mean other records here. Entries go in in index order, so dropping
                // those past our previous count leaves exactly the table as it was then, with no probe chain broken.
                var copy = GC.AllocateUninitializedArray<int>(table.Length);
                for (var i = 0; i < table.Length; i++) copy[i] = table[i] > _previous.Count ? 0 : table[i];
                table = copy;
            }
            for (var i = _previous.Count; i < _count; i++) listing.Insert(table, i);
            listing._byBase = table;
            return listing;
        }
    }

    /// <summary>
    /// One message in 12 bytes: where its name is in the buffer, its folder, and its size in 46 bits (64 TiB, beyond any
    /// file a Maildir holds; a <c>,W=</c> claiming more is not taken from the name, see <see cref="Fits"/>). At a million
    /// messages every byte of the record is a megabyte of the server's memory.
    /// </summary>
    public struct Record
    {
        public int NameStart;
        private uint _sizeLow;
        public byte NameLength;   // NAME_MAX is 255 bytes on Linux
        public byte BaseLength;
        private byte _sizeHigh;
        // Bit 0: the folder; bit 1: the size came from W=; bits 2..7: size bits 40..45.
        private byte _flags;

        /// <summary>The largest size a record holds; all 46 bits set is "unknown" (-1).</summary>
        public const long MaxSize = (1L << 46) - 2;

        private const long Unknown = (1L << 46) - 1;

        /// <summary>Whether a record can hold <paramref name="size"/>.</summary>
        public static bool Fits(long size) => (ulong)size <= MaxSize;

        public MaildirFolder Folder
        {
            readonly get => (MaildirFolder)(_flags & 1);
            set => _flags = (byte)((_flags & ~1) | ((byte)value & 1));
        }

        public bool SizeFromName
        {
            readonly get => (_flags & 2) != 0;
            set => _flags = (byte)(value ? _flags | 2 : _flags & ~2);
        }

        /// <summary>Octets after CRLF conversion; -1 while unknown (never in a published listing).</summary>
        public long Size
        {
            readonly get
            {
                var bits = _sizeLow | (long)_sizeHigh << 32 | (long)(_flags >> 2) << 40;
                return bits == Unknown ? -1 : bits;
            }
            set
            {
                if (value != -1 && !Fits(value)) throw new ArgumentOutOfRangeException(nameof(value), value, "A listing record holds sizes up to 2^46 - 2.");
                var bits = value == -1 ? Unknown : value;
                _sizeLow = (uint)bits;
                _sizeHigh = (byte)(bits >> 32);
                _flags = (byte)((_flags & 3) | (int)(bits >> 40) << 2);
            }
        }
    }

    /// <summary>The records; written to only while the listing is being built.</summary>
    internal Span<Record> Records => _records.AsSpan(0, Count);

    /// <summary>Record <paramref name="index"/>, to fill in its size while the listing is being built.</summary>
    internal ref Record RecordAt(int index)
    {
        ArgumentOutOfRangeException.ThrowIfGreaterThanOrEqual((uint)index, (uint)Count, nameof(index));
        return ref _records[index];
    }

    /// <summary>
    /// What a listing of this size holds in memory, counted as a fresh one would be allocated: the names and records
    /// with their room for appends (<see cref="WithRoom"/>) and the lookup table. Derived from the counts alone, so a
    /// listing grown in place and the same listing read back from its file are counted alike.
    /// </summary>
    internal long Footprint =>
        WithRoom(_namesLength, 4096) + (long)WithRoom(Count, 64) * System.Runtime.CompilerServices.Unsafe.SizeOf<Record>() + TableLength(Count) * 4L;

    /// <summary>The octets of this listing's names (in a listing cut to size, its whole name buffer).</summary>
    internal int NamesLength => _namesLength;

    public int Count { get; }

    /// <summary>True when this listing and <paramref name="other"/> share their buffers (one was appended to in place), for tests.</summary>
    internal bool SharesBuffersWith(MaildirListing other) => ReferenceEquals(_records, other._records) && ReferenceEquals(_names, other._names);

    public ReadOnlySpan<byte> NameOf(int index)
    {
        ref readonly var r = ref RecordAt(index);
        return _names.AsSpan(r.NameStart, r.NameLength);
    }

    public ReadOnlySpan<byte> BaseOf(int index)
    {
        ref readonly var r = ref RecordAt(index);
        return _names.AsSpan(r.NameStart, r.BaseLength);
    }

    public MaildirFolder FolderOf(int index) => RecordAt(index).Folder;

    public long SizeOf(int index) => RecordAt(index).Size;

    public string FileNameOf(int index) => Encoding.UTF8.GetString(NameOf(index));

    public string BaseNameOf(int index) => Encoding.UTF8.GetString(BaseOf(index));

    /// <summary>The same unique-id <see cref="MaildirName.ToUid"/> gives the base name, without making the base a string first.</summary>
    public string UidOf(int index)
    {
        var baseName = BaseOf(index);
        return MaildirName.IsPlainUid(baseName) ? Encoding.ASCII.GetString(baseName) : MaildirName.HashedUid(BaseNameOf(index));
    }

    /// <summary>The message as a <see cref="MaildirEntry"/>, for the rare paths that rename or relocate a file.</summary>
    public MaildirEntry EntryAt(int index) => new(FolderOf(index), FileNameOf(index)) { Size = SizeOf(index) };

    /// <summary>The Maildir S flag (see <see cref="MaildirSeenFlag"/>), read from the bytes of the name.</summary>
    public bool IsSeen(int index)
    {
        if (FolderOf(index) != MaildirFolder.Cur) return false;
        var name = NameOf(index);
        var colon = name.IndexOf((byte)':');
        return colon >= 0 && name[colon..].StartsWith(":2,"u8) && name[(colon + 3)..].IndexOf((byte)'S') >= 0;
    }

    public long TotalSize()
    {
        long total = 0;
        // Saturates: a user can plant names claiming sizes near 2^46 each, and STAT must not go negative.
        foreach (ref readonly var r in Records) total = long.MaxValue - total < r.Size ? long.MaxValue : total + r.Size;
        return total;
    }

    /// <summary>The index of the message whose base name is <paramref name="baseName"/>, or -1.</summary>
    public int FindBase(ReadOnlySpan<byte> baseName)
    {
        var table = _byBase ??= BuildTable();
        return table.Length == 0 ? -1 : Probe(table, Hash(baseName) & (table.Length - 1), baseName);
    }

    /// <summary>How many base names <see cref="FindBases"/> looks up at once.</summary>
    public const int BatchLength = 64;

    // Where FindBases leaves what it read ahead, so the reads are not optimised away.
    private static int s_readAhead;

    /// <summary>
    /// <see cref="FindBase"/> for up to <see cref="BatchLength"/> base names at once: <paramref name="found"/>[i] for the
    /// base at <paramref name="bases"/>[i] in <paramref name="bytes"/>. The same answers, but the batch's table slots, then
    /// the records and names they point to, are read in passes of loads that do not wait for one another before the
    /// probes compare anything. A listing of new/ in a million-message Maildir looks every name up at a random place
    /// (getdents returns names in hash order) in a table, records and names far larger than the caches: this way the
    /// cache misses of a batch overlap instead of following one another.
    /// </summary>
    internal void FindBases(ReadOnlySpan<byte> bytes, ReadOnlySpan<(int Start, int Length)> bases, Span<int> found)
    {
        ArgumentOutOfRangeException.ThrowIfGreaterThan(bases.Length, BatchLength, nameof(bases));
        var table = _byBase ??= BuildTable();
        if (table.Length == 0)
        {
            found[..bases.Length].Fill(-1);
            return;
        }
        var mask = table.Length - 1;
        Span<int> slots = stackalloc int[BatchLength];
        for (var i = 0; i < bases.Length; i++)
        {
            slots[i] = Hash(bytes.Slice(bases[i].Start, bases[i].Length)) & mask;
            found[i] = table[slots[i]];
        }
        var readAhead = 0;
        for (var i = 0; i < bases.Length; i++)
        {
            var candidate = found[i];
            if (candidate != 0 && candidate <= Count) readAhead += _names[_records[candidate - 1].NameStart];
        }
        Volatile.Write(ref s_readAhead, readAhead);
        for (var i = 0; i < bases.Length; i++) found[i] = Probe(table, slots[i], bytes.Slice(bases[i].Start, bases[i].Length));
    }

    private int Probe(int[] table, int slot, ReadOnlySpan<byte> baseName)
    {
        var mask = table.Length - 1;
        for (; ; slot = (slot + 1) & mask)
        {
            var found = table[slot];
            if (found == 0) return -1;
            // A message appended after this listing, in a table shared with the listings that extend it: not ours.
            if (found > Count) continue;
            if (BaseOf(found - 1).SequenceEqual(baseName)) return found - 1;
        }
    }

    private int[] BuildTable()
    {
        if (Count == 0) return [];
        // At most half full, so a probe ends soon; the hash is seeded per process (HashCode), so
        // names a user picks cannot be made to collide on purpose.
        var table = new int[TableLength(Count)];
        for (var i = 0; i < Count; i++) Insert(table, i);
        return table;
    }

    private static int TableLength(int count) => (int)System.Numerics.BitOperations.RoundUpToPowerOf2((uint)count * 2);

    private void Insert(int[] table, int index)
    {
        var mask = table.Length - 1;
        var slot = Hash(BaseOf(index)) & mask;
        while (table[slot] != 0) slot = (slot + 1) & mask;
        table[slot] = index + 1;
    }

    private static int Hash(ReadOnlySpan<byte> bytes)
    {
        var hash = new HashCode();
        hash.AddBytes(bytes);
        return hash.ToHashCode() & int.MaxValue;
    }
}
