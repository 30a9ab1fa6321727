namespace Restante.Storage.Maildir;

/// <summary>
/// A listing copied into fresh buffers, its names packed one after another and every record pointed at its name's new
/// place: cut to size for a small mailbox the index keeps (<see cref="SmallListing.Cut"/>), or without the messages the
/// sizing budget left unsized (<see cref="Snapshot"/>).
/// </summary>
internal static class ListingCopy
{
    /// <param name="sizedOnly">Leave out the messages without a size (-1).</param>
    /// <param name="withRoom">Buffers with room for appends (<see cref="MaildirListing.NewNames"/>); otherwise exactly what is kept.</param>
    public static MaildirListing Of(MaildirListing listing, bool sizedOnly, bool withRoom)
    {
        var records = listing.Records;
        int count = 0, bytes = 0;
        foreach (ref readonly var r in records)
        {
            if (sizedOnly && r.Size < 0) continue;
            count++;
            bytes += r.NameLength;
        }
        var names = withRoom ? MaildirListing.NewNames(bytes) : GC.AllocateUninitializedArray<byte>(bytes);
        var kept = withRoom ? MaildirListing.NewRecords(count) : new MaildirListing.Record[count];
        int at = 0, next = 0;
        for (var i = 0; i < records.Length; i++)
        {
            if (sizedOnly && records[i].Size < 0) continue;
            listing.NameOf(i).CopyTo(names.AsSpan(at));
            kept[next] = records[i];
            kept[next++].NameStart = at;
            at += records[i].NameLength;
        }
        return new MaildirListing(names, at, kept, count);
    }
}
