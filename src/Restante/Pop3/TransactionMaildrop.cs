using Restante.Storage;

namespace Restante.Pop3;

/// <summary>
/// The session's side of a locked maildrop: the snapshot plus the deletion marks that QUIT will
/// apply. Counts are kept as marks change, so STAT is O(1) on any mailbox size.
/// </summary>
internal sealed class TransactionMaildrop
{
    // Allocated at the first DELE: an idle or polling session holds none (see MessageMarks).
    private MessageMarks _deleted;
    private readonly long _totalSize;
    private int _seenBefore = -1;
    private int _accessed;
    private readonly Storage.Maildir.ListingMessages? _listing;

    public TransactionMaildrop(PolicyMaildrop maildrop)
    {
        Store = maildrop;
        Messages = maildrop.Messages;
        // A Maildir snapshot knows its total: asking each element would make every UIDL string.
        long total = 0;
        _listing = Messages as Storage.Maildir.ListingMessages;
        if (_listing is not null) total = _listing.TotalSize;
        else for (var i = 0; i < Messages.Count; i++) total += Messages[i].Size;
        _totalSize = total;
    }

    /// <summary>RFC 1460 LAST: the highest message number accessed (RETR, DELE), or what the store had seen before.</summary>
    public int HighestAccessed => Math.Max(_accessed, SeenBefore);

    // RFC 1460 LAST starts from what earlier sessions accessed, as far as the store remembers (a seen flag). Only LAST
    // asks, so the scan of every message's flag waits for it instead of costing every login (flags change only at QUIT).
    private int SeenBefore => _seenBefore >= 0 ? _seenBefore : _seenBefore = ScanSeen();

    private int ScanSeen()
    {
        for (var i = Messages.Count - 1; i >= 0; i--)
            if (Store.IsSeen(i)) return i + 1;
        return 0;
    }

    /// <summary>RETR sent the whole message.</summary>
    public void MarkRetrieved(int index)
    {
        Store.MarkRetrieved(index);
        NoteAccessed(index);
    }

    public bool WasRetrieved(int index) => Store.WasRetrieved(index);

    public void NoteAccessed(int index) => _accessed = Math.Max(_accessed, index + 1);


    /// <summary>The maildrop under the user's policies: RETR notes retrievals on it, QUIT asks it what to remove.</summary>
    public PolicyMaildrop Store { get; }

    public IReadOnlyList<StoredMessage> Messages { get; }

    /// <summary>Number of messages in the snapshot, deleted ones included: message numbers run 1..Count.</summary>
    public int Count => Messages.Count;

    /// <summary>A message's size without making its element: a Maildir listing's element carries its UIDL string, built on each access.</summary>
    public long SizeOf(int index) => _listing?.SizeOf(index) ?? Messages[index].Size;

    /// <summary>The UIDL line of message <paramref name="index"/>: a Maildir listing writes it from its name bytes, no string per line of a huge mailbox.</summary>
    public void WriteUidLine(System.Buffers.IBufferWriter<byte> output, int index)
    {
        if (_listing is not null) _listing.WriteUidLine(output, index + 1, index);
        else Protocol.Pop3Reply.NumberedLine(output, index + 1, Messages[index].Uid);
    }

    public int DeletedCount { get; private set; }

    public long DeletedSize { get; private set; }

    public int LiveCount => Count - DeletedCount;

    public long LiveSize => _totalSize - DeletedSize;

    public bool IsDeleted(int index) => _deleted.IsMarked(index);

    public void MarkDeleted(int index)
    {
        if (!_deleted.Mark(index, Count)) return;
        DeletedCount++;
        DeletedSize += SizeOf(index);
    }

    public void UnmarkAll()
    {
        _deleted.Clear();
        _accessed = 0;   // RFC 1460 RSET: the highest number accessed goes back to its start (what was seen before)
        DeletedCount = 0;
        DeletedSize = 0;
    }

    public IReadOnlyList<int> DeletedIndexes() => _deleted.Marked(DeletedCount);
}
