using Microsoft.Extensions.Time.Testing;
using Restante.Storage.Maildir;

using static Restante.Tests.Storage.BigMaildir;

namespace Restante.Tests.Storage;

/// <summary>
/// When the listing file (<see cref="ListingFile"/>) is rewritten: a login rewrites it only once the changes since it
/// was written add up to more than a thousandth of the mailbox (so a huge mailbox is not rewritten at every delivery),
/// while the background re-check of a settled folder (<see cref="MaildirIndex"/>, its <c>evenIfFew</c> path) writes it
/// whenever it differs, however little, because that costs no login anything and lets a restart read the file alone.
/// What the file holds is seen from outside: a restarted store that finds it current lists no folder.
/// </summary>
[System.Runtime.Versioning.SupportedOSPlatform("linux")]
public class MaildirListingFileRewriteTests
{
    // A thousandth of this is 2: one or two changes are "few", three are not.
    private const int Count = 2100;

    private static TempMaildirs Setup()
    {
        var dirs = new TempMaildirs();
        // Sizes in the names: no login or re-check reads a message.
        for (var i = 0; i < Count; i++) dirs.Put("big", "new", $"{1_700_000_000 + i}.V801I{i:x}M{i}.mx1,S=2,W=3", "a\n");
        return dirs;
    }

    private static string Drop(TempMaildirs dirs, int n)
    {
        var name = $"18000000{n:00}.V801Ib{n:x3}.mx1";
        dirs.Put("big", "new", name + ",S=2,W=3", "b\n");
        return name;
    }

    /// <summary>A login before the folders settled, then the re-check once they have: the file holds a settled listing.</summary>
    private static async Task<(MaildirStore Store, List<string> Uids)> SettledAsync(TempMaildirs dirs, FakeTimeProvider time)
    {
        var store = StoreOf(dirs, time);
        var uids = await UidsAsync(store);
        time.Advance(TimeSpan.FromMinutes(1));
        await store.Index.RecheckedAsync(dirs.MaildirOf("big")).WaitAsync(TimeSpan.FromMinutes(1));
        return (store, uids);
    }

    [Fact]
    public async Task A_login_leaves_the_file_alone_for_a_few_changes_and_rewrites_it_past_a_thousandth()
    {
        using var dirs = Setup();
        var time = new FakeTimeProvider(DateTimeOffset.UtcNow);
        var (store, before) = await SettledAsync(dirs, time);

        // One file dropped in; by the (advanced) clock new/ has settled already, so no re-check follows this login.
        var first = Drop(dirs, 1);
        Assert.Equal([.. before, first], await UidsAsync(store));
        await store.Index.RecheckedAsync(dirs.MaildirOf("big")).WaitAsync(TimeSpan.FromMinutes(1));
        var restarted = StoreOf(dirs, time);
        Assert.Equal([.. before, first], await UidsAsync(restarted));
        // The file still holds the listing from before: a restart lists new/ again to find the one change.
        Assert.Equal(1, restarted.Index.FoldersListed);

        // Two more: three changes since the file was written, more than a thousandth of the mailbox.
        var second = Drop(dirs, 2);
        var third = Drop(dirs, 3);
        Assert.Equal([.. before, first, second, third], await UidsAsync(store));
        restarted = StoreOf(dirs, time);
        Assert.Equal([.. before, first, second, third], await UidsAsync(restarted));
        Assert.Equal(0, restarted.Index.FoldersListed);
    }

    [Fact]
    public async Task The_recheck_writes_the_file_for_a_single_change()
    {
        using var dirs = Setup();
        var time = new FakeTimeProvider(DateTimeOffset.UtcNow);
        var (store, before) = await SettledAsync(dirs, time);

        var first = Drop(dirs, 1);
        // new/ changed "just now" by the test's clock (a poll right after a delivery): the login records it as not yet
        // settled, and a re-check follows once it has.
        Directory.SetLastWriteTimeUtc(Path.Combine(dirs.MaildirOf("big"), "new"), time.GetUtcNow().UtcDateTime);
        Assert.Equal([.. before, first], await UidsAsync(store));
        time.Advance(TimeSpan.FromMinutes(1));
        await store.Index.RecheckedAsync(dirs.MaildirOf("big")).WaitAsync(TimeSpan.FromMinutes(1));

        var restarted = StoreOf(dirs, time);
        Assert.Equal([.. before, first], await UidsAsync(restarted));
        // One change is below what a login rewrites the file for; the re-check wrote it all the same.
        Assert.Equal(0, restarted.Index.FoldersListed);
    }
}
