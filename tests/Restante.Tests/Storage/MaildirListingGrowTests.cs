using System.Text;
using Microsoft.Extensions.Time.Testing;
using Restante.Storage.Maildir;

namespace Restante.Tests.Storage;

/// <summary>
/// New mail is appended to a listing in place (<see cref="MaildirListing.Grow"/>): the listing that follows shares the
/// buffers and lookup table, and the listing before it, still served to sessions, must go on showing exactly its own
/// messages; a second append to the same listing (a background re-check racing a login) must copy instead.
/// </summary>
[System.Runtime.Versioning.SupportedOSPlatform("linux")]
public class MaildirListingGrowTests
{
    private static readonly string[] Known = [.. Enumerable.Range(0, 300).Select(i => $"{1_700_000_000 + i}.V801I{i:x}M{i}.mx1")];

    [Fact]
    public void Appending_to_the_latest_listing_shares_its_buffers_and_leaves_the_earlier_listing_as_it_was()
    {
        var before = Append(MaildirListing.Empty, Known);
        Assert.Equal(0, before.FindBase(Bytes(Known[0])));   // the lookup table exists, and is carried on
        var after = Append(before, "1800000000.V801Iaa.mx1");

        Assert.True(after.SharesBuffersWith(before));
        Assert.Equal(-1, before.FindBase(Bytes("1800000000.V801Iaa.mx1")));
        Assert.Equal(Known.Length, after.FindBase(Bytes("1800000000.V801Iaa.mx1")));
        Assert.Equal(Known, Names(before));
        Assert.Equal([.. Known, "1800000000.V801Iaa.mx1"], Names(after));
        for (var i = 0; i < Known.Length; i++) Assert.Equal(i, after.FindBase(Bytes(Known[i])));
    }

    [Fact]
    public void A_second_append_to_the_same_listing_copies_and_neither_sees_the_others_message()
    {
        var before = Append(MaildirListing.Empty, Known);
        Assert.Equal(0, before.FindBase(Bytes(Known[0])));
        var first = Append(before, "1800000000.V801Iaa.mx1");
        var second = Append(before, "1800000001.V801Ibb.mx1");

        Assert.True(first.SharesBuffersWith(before));
        Assert.False(second.SharesBuffersWith(before));
        Assert.Equal([.. Known, "1800000000.V801Iaa.mx1"], Names(first));
        Assert.Equal([.. Known, "1800000001.V801Ibb.mx1"], Names(second));
        Assert.Equal(-1, first.FindBase(Bytes("1800000001.V801Ibb.mx1")));
        Assert.Equal(-1, second.FindBase(Bytes("1800000000.V801Iaa.mx1")));
        Assert.Equal(Known.Length, second.FindBase(Bytes("1800000001.V801Ibb.mx1")));
        Assert.Equal(Known, Names(before));
    }

    [Fact]
    public void Appends_past_the_room_left_copy_and_every_name_stays_findable()
    {
        var listing = Append(MaildirListing.Empty, Known);
        var all = Known.ToList();
        var copies = 0;
        for (var i = 0; i < 200; i++)
        {
            var name = $"{1_800_000_000 + i}.V801I{i:x}.mx1";
            var next = Append(listing, name);
            if (!next.SharesBuffersWith(listing)) copies++;
            listing = next;
            all.Add(name);
        }
        Assert.InRange(copies, 1, 10);
        Assert.Equal(all, Names(listing));
        for (var i = 0; i < all.Count; i++) Assert.Equal(i, listing.FindBase(Bytes(all[i])));
    }

    [Fact]
    public async Task A_login_after_a_drop_into_a_large_Maildir_appends_to_the_kept_listing_without_copying_it()
    {
        using var dirs = new TempMaildirs();
        for (var i = 0; i < MaildirIndex.MinimumEntries + 10; i++) dirs.Put("big", "new", $"{1_700_000_000 + i}.V801I{i:x}M{i}.mx1", "a\n");
        var store = new MaildirStore(Path.Combine(dirs.Root, "%u", "Maildir"), null, fsync: false, new FakeTimeProvider(DateTimeOffset.UtcNow.AddHours(1)));
        MaildirListing first;
        List<string> uids;
        List<string> firstNames;
        await using (var drop = await store.OpenAsync("big", default))
        {
            first = ((ListingMessages)drop.Messages).Listing;
            uids = [.. drop.Messages.Select(m => m.Uid)];
            firstNames = Names(first);
        }
        dirs.Put("big", "new", "1800000000.V801Iaa.mx1", "dropped\n");
        await using (var drop = await store.OpenAsync("big", default))
        {
            var second = ((ListingMessages)drop.Messages).Listing;
            Assert.True(second.SharesBuffersWith(first));
            Assert.Equal([.. uids, "1800000000.V801Iaa.mx1"], drop.Messages.Select(m => m.Uid));
            Assert.Equal(firstNames, Names(first));   // the earlier listing reads as it did, its own names only
        }
    }

    [Fact]
    public void A_scan_abandoned_after_its_listing_claims_no_room_and_the_next_scan_appends_in_place()
    {
        // A background re-check overtaken by a login gives up after listing the folders: had it claimed the room past
        // the known listing, the login's append would have to copy every name and record.
        using var dirs = new TempMaildirs();
        for (var i = 0; i < Known.Length; i++) dirs.Put("big", "new", Known[i], "a\n");
        using var maildir = VerifiedMaildir.Open(dirs.MaildirOf("big"), dirs.Root.Length, create: false);
        var refused = new RefusedEntries();
        var known = MaildirScan.Take(maildir, MaildirListing.Empty, true, true, ref refused).Listing;
        dirs.Put("big", "new", "1800000000.V801Iaa.mx1", "dropped\n");

        using var overtaken = new CancellationTokenSource();
        overtaken.Cancel();
        Assert.Throws<OperationCanceledException>(() => MaildirScan.Take(maildir, known, true, false, ref refused, overtaken.Token));
        var next = MaildirScan.Take(maildir, known, true, false, ref refused).Listing;

        Assert.True(next.SharesBuffersWith(known));
        Assert.Equal([.. Known, "1800000000.V801Iaa.mx1"], Names(next));
    }

    private static byte[] Bytes(string name) => Encoding.UTF8.GetBytes(name);

    private static List<string> Names(MaildirListing listing) => [.. Enumerable.Range(0, listing.Count).Select(listing.FileNameOf)];

    private static MaildirListing Append(MaildirListing previous, params string[] names)
    {
        var growth = MaildirListing.Grow(previous, names.Length, names.Sum(Encoding.UTF8.GetByteCount));
        foreach (var name in names)
        {
            var bytes = Bytes(name);
            ref var record = ref growth.Add(bytes);
            record.Folder = MaildirFolder.New;
            record.Size = bytes.Length;
        }
        return growth.Finish();
    }
}
