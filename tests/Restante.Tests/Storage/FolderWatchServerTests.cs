using MailKit.Net.Pop3;
using MailKit.Security;
using Restante.Storage.Maildir;
using Restante.Tests.Infrastructure;

namespace Restante.Tests.Storage;

/// <summary>
/// The watch of a large Maildir's folders (<see cref="FolderWatch"/>), through a real server, real files and a real POP3
/// client: what another program drops in, removes or renames between logins is seen, with new/ not listed for a drop;
/// a watch that cannot vouch (lost events, too many names to hold, a folder swapped) sends the login down the full listing.
/// </summary>
public class FolderWatchServerTests
{
    // Above the kept-listing threshold, and the watch threshold is lowered to it so a test need not write 4,096 files.
    private const int Count = MaildirIndex.MinimumEntries + 44;

    private sealed class Setup : IAsyncDisposable
    {
        public required TestServer Server { get; init; }
        public required MaildirIndex Index { get; init; }

        public async ValueTask DisposeAsync() => await Server.DisposeAsync();
    }

    private static async Task<Setup> StartAsync(FolderWatch? watch = null, long maxBytes = MaildirIndex.DefaultMaxBytes, TempDirectory? data = null)
    {
        data ??= new TempDirectory();
        Skip.IfNot(IsLocal(data.Path), $"{data.Path} is not on a disk file system or tmpfs (an overlay, a network mount?): the index adds no watch there, by design");
        var index = new MaildirIndex(maxBytes) { WatchThreshold = Count, Watch = watch ?? new FolderWatch() };
        var store = new MaildirStore(Path.Combine(data.Path, "mail", "%u"), null, fsync: false, TimeProvider.System, index: index);
        var server = await TestServer.StartAsync(data: data, store: store);
        return new Setup { Server = server, Index = index };
    }

    private static bool IsLocal(string path)
    {
        Assert.Equal(0, Posix.TryOpenTrustedDirectory(path, out var handle));
        using (handle) return Inotify.IsLocalFileSystem(handle!);
    }

    /// <summary>
    /// A folder on a file system another host or a daemon can change without this kernel's knowledge is never watched: a
    /// watch there would vouch for changes it cannot see. /proc and /sys stand in for such mounts (no NFS server here).
    /// </summary>
    [Theory]
    [InlineData("/proc")]
    [InlineData("/sys")]
    public void A_folder_on_a_file_system_inotify_cannot_follow_is_not_taken_for_local(string path) => Assert.False(IsLocal(path));

    // A few more than the threshold, so the messages a test removes leave the mailbox watched.
    private static List<string> Fill(TestServer server, string user, int count = Count + 20)
    {
        server.AddUser(user, "secret");
        return Enumerable.Range(0, count).Select(i => server.Deliver(user, $"Subject: {i}\n\n{new string('b', i)}\n", 1_700_000_000 + i)).ToList();
    }

    private static async Task<(List<string> Uids, List<int> Sizes)> ListAsync(TestServer server, string user = "alice")
    {
        using var client = new Pop3Client();
        await client.ConnectAsync("127.0.0.1", server.Port, SecureSocketOptions.None);
        await client.AuthenticateAsync(user, "secret");
        var uids = (await client.GetMessageUidsAsync()).ToList();
        var sizes = (await client.GetMessageSizesAsync()).ToList();
        await client.DisconnectAsync(true);
        return (uids, sizes);
    }

    /// <summary>
    /// The login that finds the listing kept adds the watch; the one after it trusts the watch. The first login's background
    /// re-check (scheduled before there was a watch) is waited for, so it does not count among the listings a test compares.
    /// </summary>
    private static async Task PrimeAsync(Setup setup, string user = "alice")
    {
        await ListAsync(setup.Server, user);
        await ListAsync(setup.Server, user);
        Assert.True(setup.Index.Watch.IsWatching(setup.Server.MaildirOf(user)));
        await setup.Index.RecheckedAsync(setup.Server.MaildirOf(user));
    }

    private static string UidOf(string path) => Path.GetFileName(path).Split(':')[0];

    [SkippableFact]
    public async Task Drops_into_new_between_logins_are_seen_without_listing_new_again()
    {
        await using var setup = await StartAsync();
        var files = Fill(setup.Server, "alice");
        await PrimeAsync(setup);
        var listed = setup.Index.FoldersListed;

        var (before, _) = await ListAsync(setup.Server);
        Assert.Equal(files.Select(UidOf), before);
        // Written just now (not settled): without the watch every login lists new/ until the folder rests.
        var first = setup.Server.Deliver("alice", "Subject: one\n\nhello\n");
        var (after, sizes) = await ListAsync(setup.Server);
        Assert.Equal([.. before, UidOf(first)], after);
        Assert.Equal(new FileInfo(first).Length + 3, sizes[^1]);   // three lines, each LF sent as CRLF
        var second = setup.Server.Deliver("alice", "Subject: two\n\nhello again\n");
        var third = setup.Server.Deliver("alice", "Subject: three\n\nand again\n");
        var (last, _) = await ListAsync(setup.Server);
        Assert.Equal([.. after, UidOf(second), UidOf(third)], last);

        Assert.Equal(listed, setup.Index.FoldersListed);
    }

    [SkippableFact]
    public async Task Removals_and_renames_by_another_program_are_seen_and_the_watch_vouches_again_after()
    {
        await using var setup = await StartAsync();
        var files = Fill(setup.Server, "alice");
        await PrimeAsync(setup);
        var maildir = setup.Server.MaildirOf("alice");

        // A mail client on the same Maildir: one message deleted, one moved to cur/ and marked seen, one flagged in new/.
        File.Delete(files[3]);
        File.Move(files[5], Path.Combine(maildir, "cur", Path.GetFileName(files[5]) + ":2,S"));
        File.Move(files[7], files[7] + ":2,F");
        var (uids, _) = await ListAsync(setup.Server);
        Assert.Equal(files.Where((_, i) => i != 3).Select(UidOf), uids);

        // Only a removal: the listing must drop it, however the stamps look.
        File.Delete(files[9]);
        (uids, _) = await ListAsync(setup.Server);
        Assert.Equal(files.Where((_, i) => i != 3 && i != 9).Select(UidOf), uids);

        await setup.Index.RecheckedAsync(maildir);
        var listed = setup.Index.FoldersListed;
        var dropped = setup.Server.Deliver("alice", "Subject: later\n\nhi\n");
        (uids, _) = await ListAsync(setup.Server);
        Assert.Equal([.. files.Where((_, i) => i != 3 && i != 9).Select(UidOf), UidOf(dropped)], uids);
        Assert.Equal(listed, setup.Index.FoldersListed);
    }

    [SkippableFact]
    public async Task More_names_than_a_maildir_may_hold_fall_back_to_a_full_listing_and_every_message_is_seen()
    {
        // Room for one name and its bookkeeping: the second drop is a doubt.
        await using var setup = await StartAsync(new FolderWatch(maxBytesPerMaildir: 120));
        var files = Fill(setup.Server, "alice");
        await PrimeAsync(setup);
        var listed = setup.Index.FoldersListed;

        var drops = Enumerable.Range(0, 10).Select(i => setup.Server.Deliver("alice", $"Subject: flood {i}\n\nx\n", 1_800_000_000 + i)).ToList();
        var (uids, _) = await ListAsync(setup.Server);
        Assert.Equal([.. files.Select(UidOf), .. drops.Select(UidOf)], uids);
        Assert.True(setup.Index.FoldersListed > listed, "the flood should have sent the login down the full listing");
        Assert.True(setup.Index.Watch.Bytes < 1024, $"the watch holds {setup.Index.Watch.Bytes} bytes");
    }

    [SkippableFact]
    public async Task A_queue_overflow_falls_back_to_a_full_listing_and_every_message_is_seen()
    {
        var limit = int.Parse(File.ReadAllText("/proc/sys/fs/inotify/max_queued_events").Trim());
        Skip.If(limit > 100_000, $"fs.inotify.max_queued_events is {limit}: flooding it takes too long for a unit test");
        await using var setup = await StartAsync();
        var alice = Fill(setup.Server, "alice");
        Fill(setup.Server, "bob");
        await PrimeAsync(setup, "alice");
        await PrimeAsync(setup, "bob");

        // Bob's cur/ fills the one queue both share; then alice's drop finds it full and its event is lost.
        var scratch = Path.Combine(setup.Server.MaildirOf("bob"), "cur", "scratch");
        for (var i = 0; i < limit / 2 + 16; i++)
        {
            File.WriteAllBytes(scratch, []);
            File.Delete(scratch);
        }
        var dropped = setup.Server.Deliver("alice", "Subject: after the flood\n\nhi\n");
        var (uids, _) = await ListAsync(setup.Server, "alice");
        Assert.Equal([.. alice.Select(UidOf), UidOf(dropped)], uids);
    }

    [SkippableFact]
    public async Task Eviction_removes_the_watch()
    {
        // Room for one of the two listings: the second kept evicts the first.
        long oneListing;
        {
            await using var probe = await StartAsync();
            Fill(probe.Server, "alice");
            await ListAsync(probe.Server);
            oneListing = probe.Index.Bytes;
        }
        await using var setup = await StartAsync(maxBytes: oneListing * 3 / 2);
        Fill(setup.Server, "alice");
        Fill(setup.Server, "bob");
        await PrimeAsync(setup, "alice");
        Assert.Equal(1, setup.Index.Watch.Count);

        await ListAsync(setup.Server, "bob");
        Assert.DoesNotContain(setup.Server.MaildirOf("alice"), setup.Index.Kept);
        Assert.False(setup.Index.Watch.IsWatching(setup.Server.MaildirOf("alice")));
        Assert.Equal(0, setup.Index.Watch.Count);
    }

    [SkippableFact]
    public async Task A_folder_swapped_for_a_symlink_or_another_directory_is_not_followed_and_not_vouched_for()
    {
        await using var setup = await StartAsync();
        var files = Fill(setup.Server, "alice");
        await PrimeAsync(setup);
        var maildir = setup.Server.MaildirOf("alice");
        var newFolder = Path.Combine(maildir, "new");

        // Elsewhere, a directory with a message the user wants us to read.
        using var elsewhere = new TempDirectory();
        var planted = Path.Combine(elsewhere.Path, "1900000000.P1Q1.evil");
        File.WriteAllText(planted, "Subject: planted\n\nx\n");
        Directory.Move(newFolder, Path.Combine(maildir, "new.away"));
        File.CreateSymbolicLink(newFolder, elsewhere.Path);
        using (var client = new Pop3Client())
        {
            await client.ConnectAsync("127.0.0.1", setup.Server.Port, SecureSocketOptions.None);
            await Assert.ThrowsAnyAsync<Exception>(() => client.AuthenticateAsync("alice", "secret"));
        }

        // Another directory in its place, with only some of the messages: exactly those are served.
        File.Delete(newFolder);
        Directory.CreateDirectory(newFolder);
        var kept = files.Take(Count / 2).ToList();
        foreach (var f in kept) File.Copy(Path.Combine(maildir, "new.away", Path.GetFileName(f)), f);
        var (uids, _) = await ListAsync(setup.Server);
        Assert.Equal(kept.Select(UidOf), uids);
    }
}
