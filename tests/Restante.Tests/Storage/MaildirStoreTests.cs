using System.Diagnostics;
using System.Text;
using Restante.Storage;
using Restante.Storage.Maildir;

namespace Restante.Tests.Storage;

public sealed class MaildirStoreTests : IDisposable
{
    private readonly TempMaildirs _dirs = new();

    public void Dispose() => _dirs.Dispose();

    [Fact]
    public async Task A_missing_maildir_is_an_empty_mailbox_and_gets_created()
    {
        Assert.False(Directory.Exists(_dirs.MaildirOf("alice")));
        Assert.Empty(await _dirs.ListAsync("alice"));
        foreach (var sub in new[] { "new", "cur", "tmp" })
            Assert.True(Directory.Exists(Path.Combine(_dirs.MaildirOf("alice"), sub)));
        if (!OperatingSystem.IsWindows())
            Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute,
                File.GetUnixFileMode(_dirs.MaildirOf("alice")));
    }

    [Fact]
    public async Task An_empty_maildir_is_an_empty_mailbox()
    {
        Directory.CreateDirectory(Path.Combine(_dirs.MaildirOf("alice"), "new"));
        Directory.CreateDirectory(Path.Combine(_dirs.MaildirOf("alice"), "cur"));
        Assert.Empty(await _dirs.ListAsync("alice"));
    }

    [Fact]
    public async Task Messages_are_in_arrival_order_by_time_then_name()
    {
        _dirs.Put("alice", "new", "1700000010.b,W=3", "b\r\n");
        _dirs.Put("alice", "cur", "1700000010.a:2,S", "a\r\n");
        _dirs.Put("alice", "new", "999999999.late-name-early-time", "c\r\n");   // numerically earlier
        _dirs.Put("alice", "cur", "no-time-at-all:2,", "d\r\n");
        _dirs.Put("alice", "new", "1700000010.B", "e\r\n");                    // 'B' < 'a' < 'b' ordinal
        _dirs.Put("alice", "cur", "1700000005.x,S=3:2,RS", "f\r\n");

        var uids = (await _dirs.ListAsync("alice")).Select(m => m.Uid).ToArray();

        Assert.Equal(["999999999.late-name-early-time", "1700000005.x", "1700000010.B", "1700000010.a", "1700000010.b", "no-time-at-all"], uids);
        Assert.Equal(uids, (await _dirs.ListAsync("alice")).Select(m => m.Uid).ToArray());   // same next session
    }

    [Fact]
    public async Task Dot_files_and_directories_are_not_messages()
    {
        _dirs.Put("alice", "new", "1700000000.real", "x\n");
        _dirs.Put("alice", "new", ".hidden", "x\n");
        _dirs.Put("alice", "cur", ".1700000000.also-hidden:2,", "x\n");
        Directory.CreateDirectory(Path.Combine(_dirs.MaildirOf("alice"), "cur", "1700000000.a-directory"));

        var messages = await _dirs.ListAsync("alice");

        Assert.Equal("1700000000.real", Assert.Single(messages).Uid);
    }

    [SkippableFact]
    public async Task A_fifo_is_skipped_without_hanging()
    {
        Skip.IfNot(OperatingSystem.IsLinux(), "Needs mkfifo(1) and Linux FIFO semantics.");
        _dirs.Put("alice", "new", "1700000000.real", "x\n");
        var fifo = Path.Combine(_dirs.MaildirOf("alice"), "new", "1700000001.fifo");
        Run("mkfifo", fifo);

        var open = _dirs.ListAsync("alice");
        var finished = await Task.WhenAny(open, Task.Delay(TimeSpan.FromSeconds(20)));

        Assert.Same(open, finished);
        Assert.Equal("1700000000.real", Assert.Single(await open).Uid);
    }

    [Fact]
    public async Task Uid_survives_a_move_from_new_to_cur_between_sessions()
    {
        var path = _dirs.Put("alice", "new", "1700000000.M1P1.host,S=3", "hi\n");
        var before = Assert.Single(await _dirs.ListAsync("alice"));

        File.Move(path, Path.Combine(_dirs.MaildirOf("alice"), "cur", "1700000000.M1P1.host,S=3:2,S"));
        var after = Assert.Single(await _dirs.ListAsync("alice"));

        Assert.Equal("1700000000.M1P1.host", before.Uid);
        Assert.Equal(before, after);
    }

    [Fact]
    public async Task A_message_renamed_during_a_session_is_found_again_by_its_base_name()
    {
        var path = _dirs.Put("alice", "new", "1700000000.moved", "body\n");
        _dirs.Put("alice", "new", "1700000001.stays", "other\n");
        await using var drop = await _dirs.Store.OpenAsync("alice", CancellationToken.None);

        File.Move(path, Path.Combine(_dirs.MaildirOf("alice"), "cur", "1700000000.moved:2,S"));

        Assert.Equal("body\n", await TempMaildirs.ReadAllAsync(drop, 0));
        var result = await drop.ExpungeAsync([0], CancellationToken.None);
        Assert.Equal(new ExpungeResult(1, 0), result);
        Assert.Empty(Directory.GetFiles(Path.Combine(_dirs.MaildirOf("alice"), "cur")));
        Assert.Single(Directory.GetFiles(Path.Combine(_dirs.MaildirOf("alice"), "new")));
    }

    [Fact]
    public async Task Uids_are_always_legal_and_stable()
    {
        var longName = "1700000000." + new string('x', 100);
        _dirs.Put("alice", "new", longName + ",W=3", "a\r\n");
        _dirs.Put("alice", "new", "1700000001.caf\u00e9", "b\r\n");
        _dirs.Put("alice", "new", "1700000002.plain", "c\r\n");

        var first = await _dirs.ListAsync("alice");
        var second = await _dirs.ListAsync("alice");

        Assert.Equal(first, second);
        Assert.Equal(3, first.Select(m => m.Uid).Distinct().Count());
        Assert.Matches("^X[0-9a-f]{40}$", first[0].Uid);
        Assert.Matches("^X[0-9a-f]{40}$", first[1].Uid);
        Assert.Equal("1700000002.plain", first[2].Uid);
        Assert.All(first, m =>
        {
            Assert.InRange(m.Uid.Length, 1, 70);
            Assert.All(m.Uid, c => Assert.InRange(c, '!', '~'));
        });
    }

    [Fact]
    public async Task Size_comes_from_W_without_reading_the_file()
    {
        // The content is deliberately not 42 octets: only the name can have said 42.
        _dirs.Put("alice", "cur", "1700000000.x,S=5,W=42:2,S", "12345");
        Assert.Equal(42, Assert.Single(await _dirs.ListAsync("alice")).Size);
    }

    [Fact]
    public async Task Size_is_counted_once_then_taken_from_the_index()
    {
        var paths = new[]
        {
            _dirs.Put("alice", "new", "1700000001.bare-lf", "a\nbc\n"),          // 5 + 2 bare LFs
            _dirs.Put("alice", "new", "1700000002.crlf", "a\r\nbc\r\n"),        // already CRLF
            _dirs.Put("alice", "cur", "1700000003.no-final:2,", "a\nbc"),       // + CRLF for the unterminated last line
            _dirs.Put("alice", "new", "1700000004.empty", ""),
            _dirs.Put("alice", "new", "1700000005.mixed", "a\r\nb\nc"),
        };

        var first = await _dirs.ListAsync("alice");
        Assert.Equal([7L, 7, 7, 0, 9], first.Select(m => m.Size));
        Assert.True(File.Exists(Path.Combine(_dirs.MaildirOf("alice"), "restante-index")));

        // Maildir files are immutable, so the index is trusted: change each file's length but keep
        // its name and mtime; a second open that read the files would see the new sizes.
        foreach (var path in paths)
        {
            var mtime = File.GetLastWriteTimeUtc(path);
            File.WriteAllText(path, new string('z', 1000));
            File.SetLastWriteTimeUtc(path, mtime);
        }
        var second = await _dirs.ListAsync("alice");

        Assert.Equal(first, second);
    }

    [Fact]
    public async Task A_newcomer_is_counted_and_indexed_next_to_known_sizes()
    {
        _dirs.Put("alice", "new", "1700000001.a", "a\n");
        await _dirs.ListAsync("alice");
        _dirs.Put("alice", "new", "1700000002.b", "bb\n");

        Assert.Equal([3L, 4], (await _dirs.ListAsync("alice")).Select(m => m.Size));
        var index = File.ReadAllText(Path.Combine(_dirs.MaildirOf("alice"), "restante-index"));
        Assert.Contains("1700000001.a\t3\n", index, StringComparison.Ordinal);
        Assert.Contains("1700000002.b\t4\n", index, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Index_lines_of_removed_messages_are_dropped()
    {
        _dirs.Put("alice", "new", "1700000001.a", "a\n");
        _dirs.Put("alice", "new", "1700000002.b", "bb\n");
        await using (var drop = await _dirs.Store.OpenAsync("alice", CancellationToken.None))
            await drop.ExpungeAsync([0], CancellationToken.None);

        Assert.Equal([4L], (await _dirs.ListAsync("alice")).Select(m => m.Size));
        Assert.Equal("restante-index 1\n1700000002.b\t4\n", File.ReadAllText(Path.Combine(_dirs.MaildirOf("alice"), "restante-index")));
    }

    [Fact]
    public async Task Many_messages_sort_like_the_reference_order()
    {
        // Shuffled times with many ties, some without a time: the fast sort must agree with ArrivalOrder.
        var random = new Random(7);
        for (var i = 0; i < 300; i++)
        {
            var name = i % 17 == 0 ? $"zz{random.Next(1000)}.{i}" : $"{1700000000 + random.Next(20)}.{random.Next(100000)}.{i}";
            _dirs.Put("alice", i % 2 == 0 ? "new" : "cur", name + ",W=2", "x\n");
        }

        var uids = (await _dirs.ListAsync("alice")).Select(m => m.Uid).ToList();

        var expected = uids.Select(u => new MaildirEntry(MaildirFolder.Cur, u)).ToList();
        expected.Sort((x, y) => ArrivalOrder.Compare(x, y));
        Assert.Equal(300, uids.Count);
        Assert.Equal(expected.Select(e => e.BaseName), uids);
    }

    [Theory]
    [InlineData("garbage")]
    [InlineData("")]
    [InlineData("restante-index 1\n1700000001.a\tnot-a-number\n1700000002.b\t")]
    public async Task A_damaged_index_is_rebuilt(string damage)
    {
        _dirs.Put("alice", "new", "1700000001.a", "a\n");
        _dirs.Put("alice", "new", "1700000002.b", "bb\n");
        await _dirs.ListAsync("alice");
        var indexPath = Path.Combine(_dirs.MaildirOf("alice"), "restante-index");
        File.WriteAllText(indexPath, damage);

        // A restarted server: the running one keeps the listing in memory and has no need to read the file again.
        await using (var drop = await new MaildirStore(Path.Combine(_dirs.Root, "%u", "Maildir")).OpenAsync("alice", CancellationToken.None))
            Assert.Equal([3L, 4], drop.Messages.Select(m => m.Size));
        Assert.StartsWith("restante-index 1\n", File.ReadAllText(indexPath), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Message_is_read_as_stored()
    {
        var bytes = "Subject: x\n\n.dot\r\nend"u8.ToArray();
        _dirs.Put("alice", "new", "1700000000.x", bytes);
        await using var drop = await _dirs.Store.OpenAsync("alice", CancellationToken.None);

        await using var stream = await drop.OpenMessageAsync(0, CancellationToken.None);
        using var copy = new MemoryStream();
        await stream.CopyToAsync(copy);

        Assert.Equal(bytes, copy.ToArray());
        await Assert.ThrowsAsync<ArgumentOutOfRangeException>(async () => await drop.OpenMessageAsync(1, CancellationToken.None));
    }

    [Fact]
    public async Task The_snapshot_is_fixed_at_open_and_the_next_open_sees_new_mail()
    {
        _dirs.Put("alice", "new", "1700000000.first", "1\n");
        await using (var drop = await _dirs.Store.OpenAsync("alice", CancellationToken.None))
        {
            var uid = await _dirs.Store.DeliverAsync("alice", new MemoryStream("2\n"u8.ToArray()), CancellationToken.None);
            Assert.Equal("1700000000.first", Assert.Single(drop.Messages).Uid);
            Assert.DoesNotContain(drop.Messages, m => m.Uid == uid);
        }

        Assert.Equal(2, (await _dirs.ListAsync("alice")).Count);
    }

    [Fact]
    public async Task A_second_open_is_refused_until_the_first_is_disposed()
    {
        var first = await _dirs.Store.OpenAsync("alice", CancellationToken.None);

        var refused = await Assert.ThrowsAsync<MailStoreException>(async () => await _dirs.Store.OpenAsync("alice", CancellationToken.None));
        Assert.Equal(MailStoreErrorKind.InUse, refused.Kind);
        // A second store object (as another process would have) is refused as well.
        var other = new MaildirStore(Path.Combine(_dirs.Root, "%u", "Maildir"));
        Assert.Equal(MailStoreErrorKind.InUse, (await Assert.ThrowsAsync<MailStoreException>(async () => await other.OpenAsync("alice", CancellationToken.None))).Kind);
        // Other mailboxes are not affected.
        await (await _dirs.Store.OpenAsync("bob", CancellationToken.None)).DisposeAsync();

        await first.DisposeAsync();
        await (await OpenSoonAsync(_dirs.Store, "alice")).DisposeAsync();
    }

    // flock belongs to the open file description: a child process another test starts at this moment holds a
    // copy of our descriptor from fork until its exec closes it (O_CLOEXEC), so the release can take that long
    // to show. The server starts no processes; the test suite does, in parallel.
    private static async Task<IMaildrop> OpenSoonAsync(MaildirStore store, string user)
    {
        for (var attempt = 0; ; attempt++)
        {
            try
            {
                return await store.OpenAsync(user, CancellationToken.None);
            }
            catch (MailStoreException ex) when (ex.Kind == MailStoreErrorKind.InUse && attempt < 20)
            {
                await Task.Delay(25);
            }
        }
    }

    [SkippableFact]
    public async Task Our_lock_is_seen_by_other_processes_on_the_maildir_directory()
    {
        Skip.IfNot(OperatingSystem.IsLinux(), "Needs flock(1) and Linux flock(2) semantics.");
        await using (await _dirs.Store.OpenAsync("alice", CancellationToken.None))
            Assert.Equal(1, Run("flock", "--nonblock", _dirs.MaildirOf("alice"), "true"));
        Assert.Equal(0, Run("flock", "--nonblock", _dirs.MaildirOf("alice"), "true"));
        // The lock needs no file of its own in the Maildir.
        Assert.False(File.Exists(Path.Combine(_dirs.MaildirOf("alice"), "restante-pop3.lock")));
    }

    [SkippableFact]
    public async Task A_lock_held_by_another_process_vanishes_when_it_is_killed()
    {
        Skip.IfNot(OperatingSystem.IsLinux(), "Needs Linux flock(2) semantics.");
        await (await _dirs.Store.OpenAsync("alice", CancellationToken.None)).DisposeAsync();   // creates the Maildir
        // One process (no forked child inheriting the descriptor) that holds flock on the Maildir and sleeps.
        using var holder = Process.Start(new ProcessStartInfo("python3")
        {
            ArgumentList =
            {
                "-c",
                "import fcntl, os, sys, time\nf = os.open(sys.argv[1], os.O_RDONLY)\nfcntl.flock(f, fcntl.LOCK_EX)\nprint('locked', flush=True)\ntime.sleep(120)",
                _dirs.MaildirOf("alice"),
            },
            RedirectStandardOutput = true,
        })!;
        try
        {
            Assert.Equal("locked", await holder.StandardOutput.ReadLineAsync());

            var refused = await Assert.ThrowsAsync<MailStoreException>(async () => await _dirs.Store.OpenAsync("alice", CancellationToken.None));
            Assert.Equal(MailStoreErrorKind.InUse, refused.Kind);

            holder.Kill();   // SIGKILL on Unix: no chance to clean anything up
            await holder.WaitForExitAsync();
            await (await _dirs.Store.OpenAsync("alice", CancellationToken.None)).DisposeAsync();
        }
        finally
        {
            if (!holder.HasExited) holder.Kill();
        }
    }

    [Fact]
    public async Task Expunge_removes_exactly_the_given_messages()
    {
        for (var i = 0; i < 5; i++) _dirs.Put("alice", i % 2 == 0 ? "new" : "cur", $"170000000{i}.m{i}" + (i % 2 == 0 ? "" : ":2,S"), $"{i}\n");
        await using (var drop = await _dirs.Store.OpenAsync("alice", CancellationToken.None))
        {
            var result = await drop.ExpungeAsync([1, 4, 1], CancellationToken.None);   // a repeat is one removal
            Assert.Equal(new ExpungeResult(2, 0), result);
            Assert.True(result.Complete);
        }

        Assert.Equal(["1700000000.m0", "1700000002.m2", "1700000003.m3"], (await _dirs.ListAsync("alice")).Select(m => m.Uid));
    }

    [Fact]
    public async Task Expunge_counts_a_message_already_gone_as_removed()
    {
        var path = _dirs.Put("alice", "new", "1700000000.gone", "x\n");
        _dirs.Put("alice", "new", "1700000001.kept", "y\n");
        await using var drop = await _dirs.Store.OpenAsync("alice", CancellationToken.None);
        File.Delete(path);

        Assert.Equal(new ExpungeResult(1, 0), await drop.ExpungeAsync([0], CancellationToken.None));
        Assert.Equal(MailStoreErrorKind.Permanent,
            (await Assert.ThrowsAsync<MailStoreException>(async () => await drop.OpenMessageAsync(0, CancellationToken.None))).Kind);
    }

    [Fact]
    public async Task Delivery_writes_new_with_sizes_and_leaves_nothing_in_tmp()
    {
        var body = "Subject: hi\n\nline one\nline two\r\nno final newline"u8.ToArray();

        var uid = await _dirs.Store.DeliverAsync("alice", new MemoryStream(body), CancellationToken.None);

        var file = Assert.Single(Directory.GetFiles(Path.Combine(_dirs.MaildirOf("alice"), "new")));
        var name = Path.GetFileName(file);
        // Stored with CRLF line ends (WireFormConverter), so the file's length is the POP3 size; in wire form too.
        var stored = "Subject: hi\r\n\r\nline one\r\nline two\r\nno final newline\r\n"u8.ToArray();
        Assert.Equal(stored.Length, MessageOctetsOf(body));
        Assert.EndsWith($",S={stored.Length},W={stored.Length},P={stored.Length}", name, StringComparison.Ordinal);
        Assert.StartsWith(uid + ",", name, StringComparison.Ordinal);
        Assert.Equal(stored, File.ReadAllBytes(file));
        Assert.Empty(Directory.GetFileSystemEntries(Path.Combine(_dirs.MaildirOf("alice"), "tmp")));
        Assert.Empty(Directory.GetFileSystemEntries(Path.Combine(_dirs.MaildirOf("alice"), "cur")));

        await using var drop = await _dirs.Store.OpenAsync("alice", CancellationToken.None);
        Assert.Equal(new StoredMessage(uid, MessageOctetsOf(body)), Assert.Single(drop.Messages));
        Assert.Equal(stored, Encoding.UTF8.GetBytes(await TempMaildirs.ReadAllAsync(drop, 0)));
    }

    [Fact]
    public async Task Delivery_does_not_wait_for_the_session_lock()
    {
        await using var drop = await _dirs.Store.OpenAsync("alice", CancellationToken.None);
        var deliver = _dirs.Store.DeliverAsync("alice", new MemoryStream("x\n"u8.ToArray()), CancellationToken.None).AsTask();
        Assert.Same(deliver, await Task.WhenAny(deliver, Task.Delay(TimeSpan.FromSeconds(20))));
        await deliver;
    }

    [Fact]
    public async Task A_failed_delivery_leaves_nothing_behind()
    {
        var failing = new FailingStream("partial message\n"u8.ToArray());

        var error = await Assert.ThrowsAsync<MailStoreException>(async () => await _dirs.Store.DeliverAsync("alice", failing, CancellationToken.None));

        Assert.Equal(MailStoreErrorKind.Transient, error.Kind);
        Assert.Empty(Directory.GetFileSystemEntries(Path.Combine(_dirs.MaildirOf("alice"), "tmp")));
        Assert.Empty(Directory.GetFileSystemEntries(Path.Combine(_dirs.MaildirOf("alice"), "new")));
    }

    [Fact]
    public async Task Concurrent_deliveries_are_all_distinct_and_all_visible()
    {
        var uids = await Task.WhenAll(Enumerable.Range(0, 50).Select(i =>
            _dirs.Store.DeliverAsync("alice", new MemoryStream(Encoding.ASCII.GetBytes($"message {i}\n")), CancellationToken.None).AsTask()));

        Assert.Equal(50, uids.Distinct(StringComparer.Ordinal).Count());
        var listed = await _dirs.ListAsync("alice");
        Assert.Equal(uids.Order(StringComparer.Ordinal), listed.Select(m => m.Uid).Order(StringComparer.Ordinal));
        Assert.Empty(Directory.GetFileSystemEntries(Path.Combine(_dirs.MaildirOf("alice"), "tmp")));
    }

    [Fact]
    public async Task Stale_tmp_files_are_removed_at_open_and_fresh_ones_kept()
    {
        var stale = _dirs.Put("alice", "tmp", "1600000000.stale", "x");
        File.SetLastWriteTimeUtc(stale, DateTime.UtcNow.AddHours(-40));
        var fresh = _dirs.Put("alice", "tmp", "1700000000.in-progress", "x");

        await _dirs.ListAsync("alice");

        Assert.False(File.Exists(stale));
        Assert.True(File.Exists(fresh));
    }

    [Theory]
    [InlineData("../x")]
    [InlineData("..")]
    [InlineData(".")]
    [InlineData("")]
    [InlineData("a/b")]
    [InlineData("/etc")]
    [InlineData("a\0b")]
    public async Task User_names_that_could_leave_the_tree_are_rejected(string user)
    {
        var open = await Assert.ThrowsAsync<MailStoreException>(async () => await _dirs.Store.OpenAsync(user, CancellationToken.None));
        var deliver = await Assert.ThrowsAsync<MailStoreException>(async () => await _dirs.Store.DeliverAsync(user, new MemoryStream([]), CancellationToken.None));

        Assert.Equal(MailStoreErrorKind.Permanent, open.Kind);
        Assert.Equal(MailStoreErrorKind.Permanent, deliver.Kind);
        Assert.Equal([], Directory.GetFileSystemEntries(_dirs.Root));
    }

    [Fact]
    public void A_template_without_the_user_is_refused() =>
        Assert.Throws<ArgumentException>(() => new MaildirStore(Path.Combine(_dirs.Root, "shared")));

    private static long MessageOctetsOf(byte[] body) => Restante.Protocol.MessageOctets.Count(body);

    private static int Run(string file, params string[] arguments)
    {
        var start = new ProcessStartInfo(file);
        foreach (var argument in arguments) start.ArgumentList.Add(argument);
        using var process = Process.Start(start)!;
        process.WaitForExit();
        return process.ExitCode;
    }

    /// <summary>Yields some bytes, then fails like a dropped connection.</summary>
    private sealed class FailingStream(byte[] prefix) : MemoryStream(prefix)
    {
        public override ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default) =>
            Position < Length ? base.ReadAsync(buffer, cancellationToken) : throw new IOException("connection reset");
    }
}
