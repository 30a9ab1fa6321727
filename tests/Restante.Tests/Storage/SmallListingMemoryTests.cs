using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Time.Testing;
using Restante.Storage.Maildir;
using Restante.Tests.Infrastructure;

namespace Restante.Tests.Storage;

/// <summary>
/// The index's budget counts a kept small mailbox honestly: what <see cref="MaildirIndex.Bytes"/> says is not less
/// than what keeping the listings adds to the managed heap. Alone (no other test allocating meanwhile), so a full
/// collection's heap size measures what the index holds.
/// </summary>
[Collection(nameof(TimingCollection))]
public class SmallListingMemoryTests(Xunit.Abstractions.ITestOutputHelper output)
{
    private const int Mailboxes = 400;
    private const int Messages = 20;

    [Fact]
    public async Task The_budget_counts_at_least_what_small_listings_hold()
    {
        using var dirs = new TempMaildirs();
        var paths = new List<string>();
        for (var m = 0; m < Mailboxes; m++)
        {
            // Names as Postfix writes them (the bench corpus's shape), sizes in S= and W= so no message is read.
            for (var i = 0; i < Messages; i++)
                dirs.Put($"user{m:D4}", "cur", $"{1_700_000_000 + i * 37}.V801I{m * 100 + i:x}M{123456 + i}.mx1,S=51200,W=52000:2,", "x\n");
            paths.Add(dirs.MaildirOf($"user{m:D4}"));
        }
        var time = new FakeTimeProvider(DateTimeOffset.UtcNow.AddHours(1));
        var index = new MaildirIndex();
        // One mailbox first, so what the first open of all costs (code paths, pools) is not counted.
        await OpenAsync(index, paths[0], dirs, time);
        var before = GC.GetTotalMemory(forceFullCollection: true);
        var counted = index.Bytes;

        foreach (var path in paths.Skip(1)) await OpenAsync(index, path, dirs, time);
        var held = GC.GetTotalMemory(forceFullCollection: true) - before;
        counted = index.Bytes - counted;

        Assert.Equal(Mailboxes, index.Kept.Count);
        var perMailbox = held / (Mailboxes - 1);
        var countedPerMailbox = counted / (Mailboxes - 1);
        output.WriteLine($"per kept 20-message mailbox: heap {perMailbox} bytes, counted {countedPerMailbox} bytes");
        Assert.True(countedPerMailbox >= perMailbox, $"counted {countedPerMailbox} bytes per mailbox, the heap grew by {perMailbox}");
        // And not wildly more: a budget that overstates starves the large listings it is for.
        Assert.True(countedPerMailbox <= 2 * perMailbox + 512, $"counted {countedPerMailbox} bytes per mailbox, the heap grew by {perMailbox}");
        GC.KeepAlive(index);
    }

    private static async Task OpenAsync(MaildirIndex index, string path, TempMaildirs dirs, TimeProvider time)
    {
        using var maildir = VerifiedMaildir.Open(path, dirs.Root.Length, create: false);
        var listing = await index.OpenAsync(maildir, NullLogger.Instance, fsync: false, TimeSpan.FromSeconds(20), time, default);
        Assert.Equal(Messages, listing.Count);
    }
}
