using System.Text;
using Microsoft.Win32.SafeHandles;
using Restante.Storage;
using Restante.Storage.Maildir;
using Restante.Tests.Infrastructure;

namespace Restante.Tests.Storage;

/// <summary>
/// Group commit of new/ (<see cref="GroupCommit"/>) through real Maildir deliveries, with the
/// directory fsync replaced by a recorder that notes which files were in new/ when each fsync
/// started and when it finished, then really syncs. The rule checked throughout: a delivery
/// returns (LMTP answers 250) only after an fsync that started after its rename has finished.
/// </summary>
public sealed class GroupCommitTests : IDisposable
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(30);

    private readonly TempMaildirs _dirs = new();
    private readonly SyncRecorder _recorder = new();
    private readonly GroupCommit _commit;
    private readonly MaildirStore _store;

    public GroupCommitTests()
    {
        _commit = new GroupCommit(_recorder.Sync);
        _store = new MaildirStore(Path.Combine(_dirs.Root, "%u", "Maildir"), logger: null, fsync: true, TimeProvider.System, newFolderSync: _commit);
    }

    public void Dispose() => _dirs.Dispose();

    [Fact]
    public async Task A_lone_delivery_syncs_new_once_after_its_rename_and_before_it_returns()
    {
        var uid = await DeliverAsync("alice", 1);

        var sync = Assert.Single(_recorder.Syncs);
        Assert.EndsWith("/alice/Maildir/new", sync.Path, StringComparison.Ordinal);
        _recorder.AssertCovered(uid);
    }

    [Fact]
    public async Task Deliveries_that_rename_during_an_fsync_share_the_next_one_and_none_returns_before_it()
    {
        var hold = _recorder.HoldNext();
        var first = Task.Run(() => DeliverAsync("alice", 0));
        await hold.Started.Task.WaitAsync(Patience);

        var joiners = Enumerable.Range(1, 7).Select(i => Task.Run(() => DeliverAsync("alice", i))).ToArray();
        await WaitUntilAsync(() => _commit.Waiting == 7);
        Assert.DoesNotContain(joiners, t => t.IsCompleted);
        Assert.False(first.IsCompleted);

        hold.Release.Set();
        var uids = await Task.WhenAll(joiners.Prepend(first)).WaitAsync(Patience);

        // Eight deliveries, two fsyncs: the held one, then one for the seven that arrived meanwhile.
        Assert.Equal(2, _recorder.Syncs.Count);
        Assert.Equal(8, _recorder.Syncs[1].Files.Count);
        foreach (var uid in uids) _recorder.AssertCovered(uid);
    }

    [Fact]
    public async Task Many_concurrent_deliveries_all_land_and_each_is_covered_by_an_fsync_that_finished_before_it_returned()
    {
        var uids = await Task.WhenAll(Enumerable.Range(0, 64).Select(i => Task.Run(() => DeliverAsync("alice", i))));

        Assert.Equal(64, Directory.GetFiles(Path.Combine(_dirs.MaildirOf("alice"), "new")).Length);
        Assert.Equal(64, uids.Distinct().Count());
        foreach (var uid in uids) _recorder.AssertCovered(uid);
        Assert.InRange(_recorder.Syncs.Count, 1, 64);
    }

    [Fact]
    public async Task A_failed_shared_fsync_fails_every_delivery_of_its_batch_and_withdraws_their_files()
    {
        var hold = _recorder.HoldNext();
        _recorder.FailFrom = 2;
        var first = Task.Run(() => DeliverAsync("alice", 0));
        await hold.Started.Task.WaitAsync(Patience);
        var joiners = Enumerable.Range(1, 3).Select(i => Task.Run(() => DeliverAsync("alice", i))).ToArray();
        await WaitUntilAsync(() => _commit.Waiting == 3);
        hold.Release.Set();

        var uid = await first.WaitAsync(Patience);
        foreach (var joiner in joiners)
        {
            var ex = await Assert.ThrowsAsync<MailStoreException>(() => joiner.WaitAsync(Patience));
            Assert.Equal(MailStoreErrorKind.Transient, ex.Kind);
        }
        // Only the message whose fsync succeeded stays; the others are unlinked, so a retry is no duplicate.
        var left = Assert.Single(Directory.GetFiles(Path.Combine(_dirs.MaildirOf("alice"), "new")));
        Assert.StartsWith(uid, Path.GetFileName(left), StringComparison.Ordinal);
        Assert.Empty(Directory.GetFiles(Path.Combine(_dirs.MaildirOf("alice"), "tmp")));
    }

    [Fact]
    public async Task A_delivery_into_another_maildir_does_not_wait_for_an_fsync_in_flight()
    {
        var hold = _recorder.HoldNext();
        var alice = Task.Run(() => DeliverAsync("alice", 0));
        await hold.Started.Task.WaitAsync(Patience);

        var bob = await Task.Run(() => DeliverAsync("bob", 1)).WaitAsync(Patience);

        Assert.False(alice.IsCompleted);
        _recorder.AssertCovered(bob);
        hold.Release.Set();
        _recorder.AssertCovered(await alice.WaitAsync(Patience));
    }

    [Fact]
    public async Task A_maildir_made_again_under_the_same_path_is_synced_on_its_own()
    {
        await DeliverAsync("alice", 0);
        Directory.Delete(_dirs.MaildirOf("alice"), recursive: true);
        var hold = _recorder.HoldNext();
        var second = Task.Run(() => DeliverAsync("alice", 1));
        await hold.Started.Task.WaitAsync(Patience);

        // Same path, new inode: the held fsync cannot cover it, and it does not wait for it either.
        Directory.Delete(_dirs.MaildirOf("alice"), recursive: true);
        var third = await Task.Run(() => DeliverAsync("alice", 2)).WaitAsync(Patience);

        _recorder.AssertCovered(third);
        hold.Release.Set();
        await second.WaitAsync(Patience);
    }

    [Fact]
    public async Task Without_fsync_nothing_is_synced()
    {
        var store = new MaildirStore(Path.Combine(_dirs.Root, "%u", "Maildir"), logger: null, fsync: false, TimeProvider.System, newFolderSync: _commit);

        await store.DeliverAsync("alice", new MemoryStream("Subject: x\n\nbody\n"u8.ToArray()), CancellationToken.None);

        Assert.Single(Directory.GetFiles(Path.Combine(_dirs.MaildirOf("alice"), "new")));
        Assert.Empty(_recorder.Syncs);
    }

    [Fact]
    public async Task Concurrent_LMTP_deliveries_over_sockets_all_land_and_none_is_answered_250_before_its_fsync()
    {
        using var data = new TempDirectory();
        var store = new MaildirStore(Path.Combine(data.Path, "mail", "%u"), logger: null, fsync: true, TimeProvider.System, newFolderSync: _commit);
        await using var server = await TestServer.StartAsync(data: data, store: store, configureServer: o => o.Fsync = true);
        server.AddUser("alice", "secret");
        // The first fsync waits until the other clients' messages have arrived, so they must share one.
        var hold = _recorder.HoldNext();

        async Task<List<string>> ClientAsync(int client)
        {
            var (c, _) = await Lmtp.Lmtp.GreetAsync(server);
            await using var _c = c;
            var uids = new List<string>();
            for (var i = 0; i < 5; i++)
            {
                await Lmtp.Lmtp.SendMessageAsync(c, "sender@example.org", $"Subject: {client}.{i}\r\n\r\nbody\r\n", "alice@example.com");
                var reply = await c.ExpectAsync("250 2.0.0 <alice@example.com> Delivered as ");
                var uid = reply[reply.LastIndexOf(' ')..].Trim();
                _recorder.Returned(uid);
                uids.Add(uid);
            }
            return uids;
        }

        var clients = Enumerable.Range(0, 8).Select(ClientAsync).ToArray();
        await hold.Started.Task.WaitAsync(Patience);
        await WaitUntilAsync(() => _commit.Waiting == 7);
        hold.Release.Set();
        var uids = (await Task.WhenAll(clients).WaitAsync(Patience)).SelectMany(u => u).ToArray();

        Assert.Equal(40, uids.Distinct().Count());
        Assert.Equal(40, Directory.GetFiles(Path.Combine(server.MaildirOf("alice"), "new")).Length);
        Assert.Empty(Directory.GetFiles(Path.Combine(server.MaildirOf("alice"), "tmp")));
        foreach (var uid in uids) _recorder.AssertCovered(uid);
        Assert.True(_recorder.Syncs.Count < 40, $"{_recorder.Syncs.Count} fsyncs for 40 concurrent deliveries: none were shared");
    }

    private async Task<string> DeliverAsync(string user, int number)
    {
        var message = new MemoryStream(Encoding.ASCII.GetBytes($"Subject: {number}\n\nbody {number}\n"));
        var uid = await _store.DeliverAsync(user, message, CancellationToken.None);
        _recorder.Returned(uid);
        return uid;
    }

    private static async Task WaitUntilAsync(Func<bool> condition)
    {
        var deadline = DateTime.UtcNow + Patience;
        while (!condition())
        {
            Assert.True(DateTime.UtcNow < deadline, "timed out waiting for deliveries to join the next fsync");
            await Task.Delay(10);
        }
    }

    /// <summary>One fsync as the recorder saw it: the files new/ held when it started, and the event number it finished at.</summary>
    private sealed record SyncRecord(string Path, IReadOnlyList<string> Files)
    {
        public long FinishedAt { get; set; } = long.MaxValue;
    }

    private sealed class SyncRecorder
    {
        private readonly Lock _gate = new();
        private readonly List<SyncRecord> _syncs = [];
        private readonly Dictionary<string, long> _returnedAt = [];
        private Hold? _next;
        private long _events;

        /// <summary>From this fsync on (1-based), fsyncs fail as a full or broken disk would make them.</summary>
        public int FailFrom { get; set; } = int.MaxValue;

        public IReadOnlyList<SyncRecord> Syncs
        {
            get { lock (_gate) return _syncs.ToArray(); }
        }

        /// <summary>The next fsync to start waits (after noting what it covers) until the test releases it.</summary>
        public Hold HoldNext() => _next = new Hold();

        public void Sync(SafeFileHandle directory, string path)
        {
            // What is in new/ now is what this fsync covers (it starts after those renames).
            var files = Directory.GetFiles(path).Select(System.IO.Path.GetFileName).ToArray();
            SyncRecord record;
            int number;
            lock (_gate)
            {
                record = new SyncRecord(path, files!);
                _syncs.Add(record);
                number = _syncs.Count;
            }
            if (Interlocked.Exchange(ref _next, null) is { } hold)
            {
                hold.Started.SetResult();
                // Longer than a test waits for a delivery: one that wrongly waits for this fsync times out first.
                hold.Release.Wait(2 * Patience);
            }
            if (number >= FailFrom) throw new IOException("fsync failed (injected)");
            Posix.FsyncDirectory(directory, path);
            lock (_gate) record.FinishedAt = ++_events;
        }

        public void Returned(string uid)
        {
            lock (_gate) _returnedAt[uid] = ++_events;
        }

        public void AssertCovered(string uid)
        {
            lock (_gate)
            {
                var returned = _returnedAt[uid];
                Assert.True(_syncs.Any(s => s.FinishedAt < returned && s.Files.Any(f => MaildirName.ToUid(MaildirName.Base(f).ToString()) == uid)),
                    $"{uid} returned (event {returned}) without an fsync that started after its rename and finished before");
            }
        }
    }

    private sealed class Hold
    {
        public TaskCompletionSource Started { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);
        public ManualResetEventSlim Release { get; } = new(false);
    }
}
