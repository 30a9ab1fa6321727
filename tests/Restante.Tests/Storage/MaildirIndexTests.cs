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
        var listed = store.Index.FoldersListed;
        Assert.Equal(first, await UidsAsync(store));
        Assert.Equal(listed, store.Index.FoldersListed);
    }

    [Fact]
    public async Task A_folder_whose_mtime_was_set_back_is_listed_again_by_its_ctime()
    {
        var (dirs, store, _) = Setup();
        using var _d = dirs;
        // A whole second, so that putting it back below restores the exact mtime (nanoseconds included).
        var cur = Path.Combine(dirs.MaildirOf("big"), "cur");
        var stamp = DateTime.UnixEpoch.AddSeconds(1_700_000_000);
        Directory.SetLastWriteTimeUtc(cur, stamp);
        var first = await UidsAsync(store);
        // A file removed behind our back with the folder's mtime put back (utime): the ctime still moved.
        File.Delete(Directory.GetFiles(cur).Order(StringComparer.Ordinal).First());
        Directory.SetLastWriteTimeUtc(cur, stamp);
        Assert.Equal(first.Skip(1), await UidsAsync(store));
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

    // A mailbox as Postfix leaves it: no ,W= in the names, so sizes come from the index or a read.
    private static (TempMaildirs Dirs, MaildirStore Store) SetupUnsized(FakeTimeProvider time)
    {
        var dirs = new TempMaildirs();
        for (var i = 0; i < Count; i++)
            dirs.Put("big", "new", $"{1_700_000_000 + 2 * i}.V801I{i:x}M{i}.mx1", new string('a', i % 50) + "\n");
        return (dirs, new MaildirStore(Path.Combine(dirs.Root, "%u", "Maildir"), null, fsync: false, time));
    }

    private static long SizeOf(int i) => i % 50 + 2;   // the line and CRLF

    private static FakeTimeProvider Settled() => new(DateTimeOffset.UtcNow.AddMinutes(1));

    private static async Task<(List<string> Uids, List<long> Sizes)> ListingAsync(MaildirStore store)
    {
        await using var drop = await store.OpenAsync("big", default);
        return (drop.Messages.Select(m => m.Uid).ToList(), drop.Messages.Select(m => m.Size).ToList());
    }

    [Fact]
    public async Task A_file_dropped_in_by_hand_is_seen_next_session_with_its_size()
    {
        var (dirs, store) = SetupUnsized(Settled());
        using var _d = dirs;
        var (before, sizes) = await ListingAsync(store);
        Assert.Equal(Enumerable.Range(0, Count).Select(SizeOf), sizes);
        dirs.Put("big", "new", "1800000000.V801Iffff.mx1", "dropped\n");

        var (after, afterSizes) = await ListingAsync(store);

        Assert.Equal([.. before, "1800000000.V801Iffff.mx1"], after);
        Assert.Equal([.. sizes, 9L], afterSizes);
    }

    [Fact]
    public async Task A_file_dropped_with_an_earlier_time_takes_its_place_in_arrival_order()
    {
        var (dirs, store) = SetupUnsized(Settled());
        using var _d = dirs;
        var (before, _) = await ListingAsync(store);
        // Between message 2 (1700000004) and message 3 (1700000006).
        dirs.Put("big", "cur", "1700000005.late:2,S", "x\n");

        var (after, sizes) = await ListingAsync(store);

        Assert.Equal([.. before[..3], "1700000005.late", .. before[3..]], after);
        Assert.Equal(3L, sizes[3]);
    }

    [Fact]
    public async Task A_file_removed_by_hand_is_gone_next_session()
    {
        var (dirs, store) = SetupUnsized(Settled());
        using var _d = dirs;
        var (before, _) = await ListingAsync(store);
        var victim = Directory.GetFiles(Path.Combine(dirs.MaildirOf("big"), "new")).Single(f => Path.GetFileName(f).StartsWith(before[7], StringComparison.Ordinal));
        File.Delete(victim);

        var (after, _) = await ListingAsync(store);

        Assert.Equal(before.Where((_, i) => i != 7), after);
    }

    [Fact]
    public async Task A_message_another_client_renamed_keeps_its_uidl_and_size_and_is_opened_by_its_new_name()
    {
        var (dirs, store) = SetupUnsized(Settled());
        using var _d = dirs;
        var (before, sizes) = await ListingAsync(store);
        var maildir = dirs.MaildirOf("big");
        var old = Directory.GetFiles(Path.Combine(maildir, "new")).Single(f => Path.GetFileName(f) == before[4]);
        // A mail client moved it to cur/ and flagged it seen; the content changed length too, which
        // must not matter: a Maildir message is never rewritten, its size is known.
        File.Move(old, Path.Combine(maildir, "cur", before[4] + ":2,S"));
        File.AppendAllText(Path.Combine(maildir, "cur", before[4] + ":2,S"), "longer now\n");

        await using var drop = (MaildirMaildrop)await store.OpenAsync("big", default);

        Assert.Equal(before, drop.Messages.Select(m => m.Uid));
        Assert.Equal(sizes, drop.Messages.Select(m => m.Size));
        Assert.Equal((MaildirFolder.Cur, before[4] + ":2,S"), drop.FileOf(4));
        Assert.True(drop.IsSeen(4));
    }

    [Fact]
    public async Task A_session_keeps_its_snapshot_while_the_next_one_sees_the_change()
    {
        var (dirs, store, _) = Setup();
        using var _d = dirs;
        await using (var first = await store.OpenAsync("big", default))
        {
            await store.DeliverAsync("big", new MemoryStream("Subject: during\n"u8.ToArray()), default);
            File.Delete(Directory.GetFiles(Path.Combine(dirs.MaildirOf("big"), "cur"))[0]);
            Assert.Equal(Count, first.Messages.Count);
            // Seen-flagging in one session renames a file; the shared listing is not changed by it.
            await ((Restante.Storage.ISeenFlags)first).MarkSeenAsync([Count - 1], default);
        }
        await using var second = await store.OpenAsync("big", default);
        Assert.Equal(Count, second.Messages.Count);   // one delivered, one removed
        Assert.StartsWith("Subject: during", await TempMaildirs.ReadAllAsync(second, Count - 1), StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_restart_takes_the_sizes_from_the_index_file_and_reads_no_message()
    {
        var time = Settled();
        var (dirs, store) = SetupUnsized(time);
        using var _d = dirs;
        var (before, sizes) = await ListingAsync(store);
        Assert.True(File.Exists(Path.Combine(dirs.MaildirOf("big"), SizeIndex.FileName)));
        File.Delete(Path.Combine(dirs.MaildirOf("big"), ListingFile.FileName));   // the size index is what is tested
        // Change every file's content but not its name: a server that read them would see it.
        foreach (var file in Directory.GetFiles(Path.Combine(dirs.MaildirOf("big"), "new"))) File.WriteAllText(file, "changed, much longer than before\n");

        var restarted = new MaildirStore(Path.Combine(dirs.Root, "%u", "Maildir"), null, fsync: false, time);
        var (after, afterSizes) = await ListingAsync(restarted);

        Assert.Equal(before, after);
        Assert.Equal(sizes, afterSizes);
    }

    public static TheoryData<string> HostileIndexes => new()
    {
        "",                                                         // empty
        "restante-index 1\n1700000000.V801I0M0.mx1\t",             // torn last line
        "restante-index 1\n1700000000.V801I0M0.mx1\t-5\n",          // a negative size
        "restante-index 1\n1700000000.V801I0M0.mx1\t+5\n",          // a sign
        "restante-index 1\n1700000000.V801I0M0.mx1\t99999999999999999999999\n",   // overflow
        "restante-index 1\n1600000000.invented\t10\n1700000000.V801I0M0.mx1\t\n", // a message that does not exist
        "restante-index 2\n1700000000.V801I0M0.mx1\t1\n",           // a version we do not know
        "\u0000\u0001garbage\n\n\n",
    };

    [Theory]
    [MemberData(nameof(HostileIndexes))]
    public async Task A_damaged_or_hostile_index_file_leads_to_a_listing_that_is_exactly_the_folders(string index)
    {
        var time = Settled();
        var (dirs, store) = SetupUnsized(time);
        using var _d = dirs;
        var (before, sizes) = await ListingAsync(store);
        var path = Path.Combine(dirs.MaildirOf("big"), SizeIndex.FileName);
        File.WriteAllText(path, index);
        File.Delete(Path.Combine(dirs.MaildirOf("big"), ListingFile.FileName));   // the size index is what is tested

        var restarted = new MaildirStore(Path.Combine(dirs.Root, "%u", "Maildir"), null, fsync: false, time);
        var (after, afterSizes) = await ListingAsync(restarted);

        Assert.Equal(before, after);
        Assert.Equal(sizes, afterSizes);
        // Rewritten as ours: every message, and nothing else.
        var lines = File.ReadAllLines(path);
        Assert.Equal("restante-index 1", lines[0]);
        Assert.Equal(Count, lines.Length - 1);
        Assert.DoesNotContain(lines, l => l.Contains("invented", StringComparison.Ordinal));
    }

    [Fact]
    public async Task An_index_file_far_larger_than_the_mailbox_is_not_read()
    {
        var time = Settled();
        var (dirs, store) = SetupUnsized(time);
        using var _d = dirs;
        var (before, sizes) = await ListingAsync(store);
        var path = Path.Combine(dirs.MaildirOf("big"), SizeIndex.FileName);
        File.Delete(Path.Combine(dirs.MaildirOf("big"), ListingFile.FileName));   // the size index is what is tested
        // Valid lines, but wrong sizes and 8 MB of them: more than any index of 300 messages.
        using (var writer = new StreamWriter(path))
        {
            writer.Write("restante-index 1\n");
            for (var i = 0; i < Count; i++) writer.Write($"{1_700_000_000 + 2 * i}.V801I{i:x}M{i}.mx1\t777\n");
            writer.Write(new string('#', 8 * 1024 * 1024));
        }

        var restarted = new MaildirStore(Path.Combine(dirs.Root, "%u", "Maildir"), null, fsync: false, time);
        var (after, afterSizes) = await ListingAsync(restarted);

        Assert.Equal(before, after);
        Assert.Equal(sizes, afterSizes);
    }
}
