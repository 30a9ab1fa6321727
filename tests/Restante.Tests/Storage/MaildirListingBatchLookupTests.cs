using System.Text;
using Restante.Storage.Maildir;

namespace Restante.Tests.Storage;

/// <summary>
/// A listing of new/ looks its names up in batches (<see cref="MaildirListing.FindBases"/>): the answers must be exactly
/// those of one lookup at a time, for known names, unknown ones, and names a later listing appended to the shared
/// buffers and lookup table (not this listing's).
/// </summary>
public class MaildirListingBatchLookupTests
{
    private static readonly string[] Known = [.. Enumerable.Range(0, 300).Select(i => $"{1_700_000_000 + i}.V801I{i:x}M{i}.mx1")];

    private static MaildirListing Append(MaildirListing previous, params string[] names)
    {
        var bytes = names.Select(Encoding.UTF8.GetBytes).ToArray();
        var growth = MaildirListing.Grow(previous, bytes.Length, bytes.Sum(b => b.Length));
        foreach (var name in bytes)
        {
            ref var record = ref growth.Add(name);
            record.Folder = MaildirFolder.New;
            record.Size = name.Length;
        }
        return growth.Finish();
    }

    private static int[] LookUp(MaildirListing listing, string[] bases)
    {
        var bytes = new List<byte>();
        var at = new (int Start, int Length)[bases.Length];
        for (var i = 0; i < bases.Length; i++)
        {
            at[i] = (bytes.Count, Encoding.UTF8.GetByteCount(bases[i]));
            bytes.AddRange(Encoding.UTF8.GetBytes(bases[i]));
        }
        var found = new int[MaildirListing.BatchLength];
        listing.FindBases(bytes.ToArray(), at, found);
        return found[..bases.Length];
    }

    [Fact]
    public void A_batch_finds_what_one_lookup_at_a_time_finds()
    {
        var listing = Append(MaildirListing.Empty, Known);
        Assert.Equal(0, listing.FindBase(Encoding.UTF8.GetBytes(Known[0])));   // the table exists, and is shared on
        var later = Append(listing, "1800000000.V801Iaa.mx1");
        Assert.True(later.SharesBuffersWith(listing));
        string[] bases =
        [
            .. Known.Where((_, i) => i % 5 == 0).Take(50),
            "1700000000.V801I0M", "nothing", "1800000000.V801Iaa.mx1", Known[299], "1", Known[1] + "x",
        ];

        var batch = LookUp(listing, bases);
        var laterBatch = LookUp(later, bases);

        Assert.Equal(bases.Select(b => listing.FindBase(Encoding.UTF8.GetBytes(b))), batch);
        Assert.Equal(bases.Select(b => later.FindBase(Encoding.UTF8.GetBytes(b))), laterBatch);
        Assert.Equal([.. Enumerable.Range(0, 50).Select(i => 5 * i), -1, -1, -1, 299, -1, -1], batch);
        Assert.Equal(Known.Length, laterBatch[52]);
    }

    [Fact]
    public void An_empty_listing_finds_nothing()
        => Assert.Equal([-1, -1], LookUp(MaildirListing.Empty, [Known[0], "x"]));
}
