using Microsoft.Extensions.Time.Testing;
using Restante.Storage.Maildir;

using static Restante.Tests.Storage.BigMaildir;

namespace Restante.Tests.Storage;

/// <summary>
/// A folder listed within the settle time of its last change is listed again in the background once it has
/// settled (<see cref="MaildirIndex"/>), so the next login and a restarted server need not list it; and that
/// re-check lists, rather than trusting times that did not move, so a rename it could not see by the times is found.
/// </summary>
[System.Runtime.Versioning.SupportedOSPlatform("linux")]
public class MaildirSettleRecheckTests
{
    // The clock as the files were just written: their folders have not settled yet. The test moves it on by hand,
    // far enough (a minute) that a slow machine's real seconds between two steps never matter.
    private static FakeTimeProvider Now() => new(DateTimeOffset.UtcNow);

    private static async Task SettleAsync(MaildirStore store, TempMaildirs dirs, FakeTimeProvider time)
    {
        time.Advance(TimeSpan.FromMinutes(1));
        await store.Index.RecheckedAsync(dirs.MaildirOf("big")).WaitAsync(TimeSpan.FromMinutes(1));
    }

    [Fact]
    public async Task A_folder_listed_before_it_settled_is_listed_again_once_settled_and_a_restart_reads_only_the_file()
    {
        var time = Now();
        using var dirs = Unsized();
        var store = StoreOf(dirs, time);
        var (before, sizes) = await ListingAsync(store);
        var listedAtLogin = store.Index.FoldersListed;

        await SettleAsync(store, dirs, time);

        // The re-check listed both folders (neither had settled at the login).
        Assert.Equal(listedAtLogin + 2, store.Index.FoldersListed);
        var (again, againSizes) = await ListingAsync(store);
        Assert.Equal(listedAtLogin + 2, store.Index.FoldersListed);
        Assert.Equal(before, again);
        Assert.Equal(sizes, againSizes);

        var restarted = StoreOf(dirs, time);
        var (afterRestart, restartSizes) = await ListingAsync(restarted);
        Assert.Equal(0, restarted.Index.FoldersListed);
        Assert.Equal(before, afterRestart);
        Assert.Equal(sizes, restartSizes);
    }

    [Fact]
    public async Task A_file_dropped_before_our_delivery_whose_stamp_the_index_holds_is_found_by_the_recheck()
    {
        var time = Now();
        using var dirs = Unsized();
        var store = StoreOf(dirs, time);
        var (before, _) = await ListingAsync(store);
        // Another MDA's rename into new/, then ours: the index records new/'s stamp after both, so the times alone
        // say nothing changed since; only a listing finds the other file.
        dirs.Put("big", "new", "1700000999.V801Iffff.mx1", "dropped\n");
        var uid = await store.DeliverAsync("big", new MemoryStream("Subject: ours\n\nhello\n"u8.ToArray()), default);

        await SettleAsync(store, dirs, time);
        var listed = store.Index.FoldersListed;
        var (after, sizes) = await ListingAsync(store);

        Assert.Equal(listed, store.Index.FoldersListed);
        Assert.Equal([.. before, "1700000999.V801Iffff.mx1", uid], after);
        Assert.Equal(9L, sizes[^2]);
        var restarted = StoreOf(dirs, time);
        var (afterRestart, _) = await ListingAsync(restarted);
        Assert.Equal(0, restarted.Index.FoldersListed);
        Assert.Equal(after, afterRestart);
    }

    [Fact]
    public async Task A_file_renamed_into_new_right_after_the_recheck_is_found_by_the_next_login()
    {
        var time = Now();
        using var dirs = Unsized();
        var store = StoreOf(dirs, time);
        var (before, _) = await ListingAsync(store);
        await SettleAsync(store, dirs, time);

        var tmp = dirs.Put("big", "tmp", "1800000001.V801Ieeee.mx1", "renamed\n");
        File.Move(tmp, Path.Combine(dirs.MaildirOf("big"), "new", "1800000001.V801Ieeee.mx1"));
        var (after, _) = await ListingAsync(store);
        var (afterRestart, _) = await ListingAsync(StoreOf(dirs, time));

        Assert.Equal([.. before, "1800000001.V801Ieeee.mx1"], after);
        Assert.Equal(after, afterRestart);
    }

    [Fact]
    public async Task A_restart_after_a_polled_delivery_has_settled_reads_only_the_file()
    {
        // The real clock: the second login must find new/ changed within the settle time, as a poll right after a
        // delivery does. The test waits for the folders to settle (about 2 s each time), it times nothing.
        // Enough messages that one change is "few" (a login rewrites the file only past a thousandth of the mailbox);
        // sizes in the names, so the first login reads no message.
        using var dirs = new TempMaildirs();
        for (var i = 0; i < 2100; i++) dirs.Put("big", "new", $"{1_700_000_000 + i}.V801I{i:x}M{i}.mx1,S=2,W=3", "a\n");
        var store = StoreOf(dirs, TimeProvider.System);
        var (before, _) = await ListingAsync(store);
        await store.Index.RecheckedAsync(dirs.MaildirOf("big")).WaitAsync(TimeSpan.FromMinutes(1));
        // The file now holds a settled listing; one message more is far below what a login rewrites it for.
        var tmp = dirs.Put("big", "tmp", "1800000002.V801Idddd.mx1", "polled\n");
        File.Move(tmp, Path.Combine(dirs.MaildirOf("big"), "new", "1800000002.V801Idddd.mx1"));
        var (after, _) = await ListingAsync(store);
        await store.Index.RecheckedAsync(dirs.MaildirOf("big")).WaitAsync(TimeSpan.FromMinutes(1));

        var restarted = StoreOf(dirs, TimeProvider.System);
        var (afterRestart, _) = await ListingAsync(restarted);

        Assert.Equal([.. before, "1800000002.V801Idddd.mx1"], after);
        Assert.Equal(after, afterRestart);
        Assert.Equal(0, restarted.Index.FoldersListed);
    }

    [Fact]
    public async Task The_index_budget_counts_the_listing_the_recheck_put_in_place()
    {
        var time = Now();
        using var dirs = Unsized();
        var store = StoreOf(dirs, time);
        await ListingAsync(store);
        // Found only by the re-check: the listing it keeps is larger than the login's.
        dirs.Put("big", "new", "1800000000.V801Iffff.mx1", "dropped\n");
        await SettleAsync(store, dirs, time);

        var probe = StoreOf(dirs, time);
        var (uids, _) = await ListingAsync(probe);

        Assert.Equal(Count + 1, uids.Count);
        Assert.Equal(probe.Index.Bytes, store.Index.Bytes);
    }
}
