using System.Buffers;
using System.Collections;

namespace Restante.Storage.Maildir;

/// <summary>
/// A session's <see cref="IMaildrop.Messages"/> over a <see cref="MaildirListing"/>: each element
/// is made when asked for (the UIDL string of a UIDL line), so a million-message snapshot holds no
/// string per message. Sizes add up once, for STAT.
/// </summary>
internal sealed class ListingMessages(MaildirListing listing) : IReadOnlyList<StoredMessage>
{
    public StoredMessage this[int index]
    {
        get
        {
            ArgumentOutOfRangeException.ThrowIfNegative(index);
            ArgumentOutOfRangeException.ThrowIfGreaterThanOrEqual(index, listing.Count);
            return new StoredMessage(listing.UidOf(index), listing.SizeOf(index));
        }
    }

    public int Count => listing.Count;

    /// <summary>The listing served, for tests.</summary>
    internal MaildirListing Listing => listing;

    public long SizeOf(int index) => listing.SizeOf(index);

    /// <summary>
    /// The UIDL line "n uid" of message <paramref name="index"/>, the unique-id copied from the bytes of its name when it
    /// is the base itself (the usual case): a UIDL of a million messages then makes no string per line.
    /// </summary>
    public void WriteUidLine(IBufferWriter<byte> output, int number, int index)
    {
        var baseName = listing.BaseOf(index);
        if (!MaildirName.IsPlainUid(baseName))
        {
            Protocol.Pop3Reply.NumberedLine(output, number, listing.UidOf(index));
            return;
        }
        var span = output.GetSpan(16 + baseName.Length);
        number.TryFormat(span, out var n);
        span[n++] = (byte)' ';
        baseName.CopyTo(span[n..]);
        n += baseName.Length;
        span[n++] = (byte)'\r';
        span[n++] = (byte)'\n';
        output.Advance(n);
    }

    public long TotalSize { get; } = listing.TotalSize();

    public IEnumerator<StoredMessage> GetEnumerator()
    {
        for (var i = 0; i < listing.Count; i++) yield return this[i];
    }

    IEnumerator IEnumerable.GetEnumerator() => GetEnumerator();
}
