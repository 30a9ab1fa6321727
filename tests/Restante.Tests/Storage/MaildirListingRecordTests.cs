using System.Runtime.CompilerServices;
using Microsoft.Extensions.Time.Testing;
using Restante.Storage.Maildir;

using static Restante.Tests.Storage.BigMaildir;

namespace Restante.Tests.Storage;

/// <summary>
/// A listing record is 12 bytes (<see cref="MaildirListing.Record"/>): the size in 46 bits beside the folder and the
/// W= mark. Sizes past 4 GiB, the "unknown" size, names of unusual lengths and a W= too large for a record must come
/// through a login and a restart (which reads <c>restante-listing</c>) as they went in.
/// </summary>
[System.Runtime.Versioning.SupportedOSPlatform("linux")]
public class MaildirListingRecordTests
{
    [Fact]
    public void A_record_is_twelve_bytes()
        => Assert.Equal(12, Unsafe.SizeOf<MaildirListing.Record>());

    [Theory]
    [InlineData(0L)]
    [InlineData(1L)]
    [InlineData(0xFFFF_FFFFL)]
    [InlineData(0x1_0000_0000L)]
    [InlineData(5L * 1024 * 1024 * 1024 + 7)]
    [InlineData(0xFF_FFFF_FFFFL)]
    [InlineData(0x100_0000_0000L)]
    [InlineData(MaildirListing.Record.MaxSize)]
    [InlineData(-1L)]
    public void Size_folder_and_w_mark_are_kept_apart_whatever_the_order_they_are_set_in(long size)
    {
        foreach (var folder in (MaildirFolder[])[MaildirFolder.New, MaildirFolder.Cur])
        foreach (var fromName in (bool[])[false, true])
        {
            var before = new MaildirListing.Record { NameStart = 12345, NameLength = 255, BaseLength = 254, Folder = folder, SizeFromName = fromName, Size = size };
            var after = new MaildirListing.Record { Size = size, NameStart = 12345, NameLength = 255, BaseLength = 254 };
            after.SizeFromName = fromName;
            after.Folder = folder;
            foreach (var r in (MaildirListing.Record[])[before, after])
            {
                Assert.Equal(size, r.Size);
                Assert.Equal(folder, r.Folder);
                Assert.Equal(fromName, r.SizeFromName);
                Assert.Equal(12345, r.NameStart);
                Assert.Equal(255, r.NameLength);
                Assert.Equal(254, r.BaseLength);
            }
            // Overwriting a large size with a small one leaves none of its high bits behind.
            after.Size = 3;
            Assert.Equal(3, after.Size);
            Assert.Equal(folder, after.Folder);
            Assert.Equal(fromName, after.SizeFromName);
        }
    }

    [Theory]
    [InlineData(MaildirListing.Record.MaxSize + 1)]
    [InlineData(long.MaxValue)]
    [InlineData(-2L)]
    public void A_size_a_record_cannot_hold_is_refused_rather_than_cut(long size)
    {
        Assert.False(MaildirListing.Record.Fits(size));
        var record = new MaildirListing.Record();
        Assert.Throws<ArgumentOutOfRangeException>(() => record.Size = size);
    }

    [Fact]
    public async Task Sizes_past_4_GiB_names_of_unusual_lengths_and_an_oversized_w_come_through_a_login_and_a_restart()
    {
        var time = new FakeTimeProvider(DateTimeOffset.UtcNow.AddHours(1));   // every folder looks settled
        using var dirs = Unsized();
        const long FiveGiB = 5L * 1024 * 1024 * 1024 + 7;
        // W= is trusted as the size (the Maildir++ rule), so a 5 GiB message needs no 5 GiB file here.
        var large = $"1800000000.V801Ia.mx1,W={FiveGiB}";
        // A W= past what a record holds: not taken from the name, the file is read (5 octets: "abc" and CRLF).
        var oversized = $"1800000001.V801Ib.mx1,W={1L << 50}";
        // The longest name a directory holds (255 octets with the info), and a one-octet one (its own base, sorted last: no time in it).
        var longest = "1800000002." + new string('l', 255 - 11 - 4);
        dirs.Put("big", "new", large, "x\n");
        dirs.Put("big", "new", oversized, "abc\n");
        dirs.Put("big", "cur", longest + ":2,S", "yy\n");
        dirs.Put("big", "cur", "z", "zzz\n");

        var first = StoreOf(dirs, time);
        var (uids, sizes) = await ListingAsync(first);
        var restarted = StoreOf(dirs, time);
        var (again, againSizes) = await ListingAsync(restarted);

        Assert.Equal(Count + 4, uids.Count);
        Assert.Equal([FiveGiB, 5L, 4L, 5L], sizes[^4..]);
        Assert.Equal([.. new[] { large, oversized, longest, "z" }.Select(n => MaildirName.ToUid(MaildirName.Base(n).ToString()))], uids[^4..]);
        Assert.Equal(0, restarted.Index.FoldersListed);   // the restart read restante-listing alone
        Assert.Equal(uids, again);
        Assert.Equal(sizes, againSizes);
    }
}
