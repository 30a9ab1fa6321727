using Microsoft.Extensions.Time.Testing;
using Restante.Storage.Maildir;

namespace Restante.Tests.Storage;

/// <summary>Large Maildirs are listed again only when new/ or cur/ changed, and a change is never missed.</summary>
public class MaildirIndexTests
{
    private const int Count = MaildirIndex.MinimumEntries + 44;

    private static (TempMaildirs Dirs, MaildirStore Store, FakeTimeProvider Time) Setup()
    {
        var dirs = new TempMaildirs();
        for (var i = 0; i < Count; i++)
            dirs.Put("big", "cur", $"{1_700_000_000 + i}.M{i}.host,S=10,W=11:2,S", "Subject: x\n");
        var time = new FakeTimeProvider(DateTimeOffset.UtcNow.AddMinutes(1));   // the folders look settled
        return (dirs, new MaildirStore(Path.Combine(dirs.Root, "%u", "Maildir"), null, fsync: false, time), time);
    }

    private static async Task<IReadOnlyList<string>> UidsAsync(MaildirStore store)
    {
        await using var drop = await store.OpenAsync("big", default);
        return drop.Messages.Select(m => m.Uid).ToList();
    }

    [Fact]
    public async Task A_delivery_is_seen_by_the_next_open()
    {
        var (dirs, store, _) = Setup();
        using var _d = dirs;
        Assert.Equal(Count, (await UidsAsync(store)).Count);
        await store.DeliverAsync("big", new MemoryStream("Subject: new\n"u8.ToArray()), default);
        var uids = await UidsAsync(store);
        Assert.Equal(Count + 1, uids.Count);
    }

    [Fact]
    public async Task An_expunge_is_seen_by_the_next_open()
    {
        var (dirs, store, _) = Setup();
        using var _d = dirs;
        string removed;
        await using (var drop = await store.OpenAsync("big", default))
        {
            removed = drop.Messages[5].Uid;
            await drop.ExpungeAsync([5], default);
        }
        var uids = await UidsAsync(store);
        Assert.Equal(Count - 1, uids.Count);
        Assert.DoesNotContain(removed, uids);
    }

    [Fact]
    public async Task An_unchanged_settled_maildir_is_not_listed_again()
    {
        var (dirs, store, _) = Setup();
        using var _d = dirs;
        var first = await UidsAsync(store);
        // A file removed behind our back with the folder's time put back: only a listing would
        // notice, so the unchanged list proves the cached one was used.
        var cur = Path.Combine(dirs.MaildirOf("big"), "cur");
        var stamp = Directory.GetLastWriteTimeUtc(cur);
        File.Delete(Directory.GetFiles(cur)[0]);
        Directory.SetLastWriteTimeUtc(cur, stamp);
        Assert.Equal(first, await UidsAsync(store));
    }

    [Fact]
    public async Task A_folder_changed_within_the_settle_time_is_always_listed()
    {
        var (dirs, store, time) = Setup();
        using var _d = dirs;
        var cur = Path.Combine(dirs.MaildirOf("big"), "cur");
        var stamp = time.GetUtcNow().UtcDateTime.AddSeconds(-1);   // written a second ago
        Directory.SetLastWriteTimeUtc(cur, stamp);
        await UidsAsync(store);
        File.Delete(Directory.GetFiles(cur)[0]);
        Directory.SetLastWriteTimeUtc(cur, stamp);
        Assert.Equal(Count - 1, (await UidsAsync(store)).Count);
    }
}
