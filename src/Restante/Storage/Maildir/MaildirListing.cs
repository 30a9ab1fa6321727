using System.Text;

namespace Restante.Storage.Maildir;

/// <summary>
/// The messages of a Maildir in arrival order, kept compact enough for a million of them: every
/// file name in one UTF-8 buffer, and per message one 16-byte record (where its name is, its
/// folder, its size). No string and no object per message: a 1,000,000-message mailbox with
/// Postfix-style names is about 50 MB, where a string per name and per UIDL was over 300 MB.
/// Immutable once published: sessions share it, and a session's own renames live beside it
/// (see <see cref="MaildirMaildrop"/>). Strings are made on demand (a UIDL line, an open).
/// </summary>
internal sealed class MaildirListing
{
    public static MaildirListing Empty { get; } = new([], []);

    private readonly byte[] _names;
    // Open addressing by base name: slot holds record index + 1, 0 is free. Built on first use.
    private int[]? _byBase;

    /// <param name="names">The names the records point into.</param>
    /// <param name="records">In arrival order; sizes may still be filled in before the listing is published.</param>
    public MaildirListing(byte[] names, Record[] records)
    {
        _names = names;
        Records = records;
    }

    /// <summary>
    /// A listing that is <paramref name="previous"/> with records added at the end (<paramref name="records"/> starts with
    /// <paramref name="previous"/>'s records as they are, their names at the same places in <paramref name="names"/>): its
    /// lookup table, when <paramref name="previous"/> has one, is a copy of that one with the added names put in, so a
    /// million names are not hashed again after one delivery.
    /// </summary>
    public static MaildirListing Extending(MaildirListing previous, byte[] names, Record[] records)
    {
        var listing = new MaildirListing(names, records);
        var table = previous._byBase;
        if (table is null || table.Length == 0 || table.Length != TableLength(records.Length)) return listing;
        var copy = GC.AllocateUninitializedArray<int>(table.Length);
        table.CopyTo(copy, 0);
        for (var i = previous.Count; i < records.Length; i++) listing.Insert(copy, i);
        listing._byBase = copy;
        return listing;
    }

    /// <summary>One message: where its name is in the buffer, its folder and its size.</summary>
    public struct Record
    {
        public int NameStart;
        public byte NameLength;   // NAME_MAX is 255 bytes on Linux
        public byte BaseLength;
        public MaildirFolder Folder;
        public bool SizeFromName;
        /// <summary>Octets after CRLF conversion; -1 while unknown (never in a published listing).</summary>
        public long Size;
    }

    /// <summary>The records; written to only while the listing is being built.</summary>
    internal Record[] Records { get; }

    internal byte[] Names => _names;

    public int Count => Records.Length;

    public ReadOnlySpan<byte> NameOf(int index)
    {
        ref readonly var r = ref Records[index];
        return _names.AsSpan(r.NameStart, r.NameLength);
    }

    public ReadOnlySpan<byte> BaseOf(int index)
    {
        ref readonly var r = ref Records[index];
        return _names.AsSpan(r.NameStart, r.BaseLength);
    }

    public MaildirFolder FolderOf(int index) => Records[index].Folder;

    public long SizeOf(int index) => Records[index].Size;

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
        foreach (ref readonly var r in Records.AsSpan()) total += r.Size;
        return total;
    }

    /// <summary>The index of the message whose base name is <paramref name="baseName"/>, or -1.</summary>
    public int FindBase(ReadOnlySpan<byte> baseName)
    {
        var table = _byBase ??= BuildTable();
        if (table.Length == 0) return -1;
        var mask = table.Length - 1;
        for (var slot = Hash(baseName) & mask; ; slot = (slot + 1) & mask)
        {
            var found = table[slot];
            if (found == 0) return -1;
            if (BaseOf(found - 1).SequenceEqual(baseName)) return found - 1;
        }
    }

    private int[] BuildTable()
    {
        if (Records.Length == 0) return [];
        // At most half full, so a probe ends soon; the hash is seeded per process (HashCode), so
        // names a user picks cannot be made to collide on purpose.
        var table = new int[TableLength(Records.Length)];
        for (var i = 0; i < Records.Length; i++) Insert(table, i);
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
