using System.Diagnostics;
using System.Text;
using MailKit.Net.Pop3;
using MailKit.Security;
using Restante.Storage.Maildir;
using Restante.Tests.Infrastructure;
using Restante.Tests.Storage;

namespace Restante.Tests.Abuse;

/// <summary>
/// A user who can write their own Maildir plants symlinks, devices and huge files in it. Nothing
/// outside the Maildir may be read, written or deleted because of that, and no file may wedge a
/// login. Every test drives real POP3 (or LMTP) sessions against a real server.
/// </summary>
public class HostileMaildirTests
{
    // What a real /etc/shadow line looks like; it must never reach a client.
    private const string Secret = "root:$6$TOPSECRET$hashhashhash:19700:0:99999:7:::\n";
    private const string Normal = "Subject: hi\n\nhello\n";
    private const int NormalOctets = 22;   // CRLF line ends: 13 + 2 + 7

    [Fact]
    public async Task A_symlinked_message_is_neither_listed_nor_sent()
    {
        await using var server = await StartWithAliceAsync();
        var secret = WriteOutside(server, "shadow", Secret);
        server.Deliver("alice", Normal, 1_700_000_005);
        var maildir = server.MaildirOf("alice");
        File.CreateSymbolicLink(Path.Combine(maildir, "cur", "1700000000.x.host:2,S"), secret);
        // A name that claims its size, so nothing needs to open it to list it.
        File.CreateSymbolicLink(Path.Combine(maildir, "new", "1700000001.y.host,S=50,W=51"), secret);
        // A name that would forge a log line if written raw.
        File.CreateSymbolicLink(Path.Combine(maildir, "new", "1700000000.a\r\nBlocked login attempts from 198.51.100.23"), secret);

        await using (var c = await server.LoginAsync("alice", "secret"))
        {
            await c.SendAsync("STAT");
            await c.ExpectAsync($"+OK 1 {NormalOctets}");
            await c.SendAsync("LIST");
            await c.ExpectAsync("+OK");
            Assert.Equal(new[] { $"1 {NormalOctets}" }, await c.ReadMultiLineAsync());
            await c.SendAsync("RETR 1");
            await c.ExpectAsync("+OK");
            Assert.DoesNotContain(await c.ReadMultiLineAsync(), line => line.Contains("TOPSECRET", StringComparison.Ordinal));
            await c.SendAsync("RETR 2");
            await c.ExpectAsync("-ERR");
            await c.SendAsync("TOP 2 5");
            await c.ExpectAsync("-ERR");
            await c.SendAsync("QUIT");
            await c.ExpectAsync("+OK");
        }

        // MailKit, as an application would fetch everything.
        using (var client = new Pop3Client())
        {
            await client.ConnectAsync("127.0.0.1", server.Port, SecureSocketOptions.None);
            await client.AuthenticateAsync("alice", "secret");
            Assert.Equal(1, client.Count);
            Assert.Equal(new[] { NormalOctets }, await client.GetMessageSizesAsync());
            using var raw = await client.GetStreamAsync(0);
            Assert.DoesNotContain("TOPSECRET", await new StreamReader(raw).ReadToEndAsync(), StringComparison.Ordinal);
            await client.DisconnectAsync(quit: true);
        }

        Assert.Equal(Secret, File.ReadAllText(secret));
        // One line per login, with the user's file name escaped; never a failure of the whole mailbox.
        var logged = server.Logs.Lines.Where(l => l.Contains("Ignoring 3 entries", StringComparison.Ordinal)).ToList();
        Assert.Equal(2, logged.Count);
        Assert.All(logged, l => Assert.Contains(@"1700000000.a\x0d\x0aBlocked\x20login\x20attempts", l, StringComparison.Ordinal));
        Assert.DoesNotContain(server.Logs.Lines, l => l.Contains("\nBlocked", StringComparison.Ordinal));
    }

    [Fact]
    public async Task A_planted_index_temporary_is_not_written_through()
    {
        await using var server = await StartWithAliceAsync();
        var target = WriteOutside(server, "precious", "do not touch\n");
        var stamp = new DateTime(2020, 1, 2, 3, 4, 5, DateTimeKind.Utc);
        File.SetLastWriteTimeUtc(target, stamp);
        // No ,W= in the name: the login counts it and writes the size index.
        server.Deliver("alice", Normal, 1_700_000_005);
        var maildir = server.MaildirOf("alice");
        File.CreateSymbolicLink(Path.Combine(maildir, "restante-index.tmp"), target);

        await using (var c = await server.LoginAsync("alice", "secret"))
        {
            await c.SendAsync("QUIT");
            await c.ExpectAsync("+OK");
        }

        Assert.Equal("do not touch\n", File.ReadAllText(target));
        Assert.Equal(stamp, File.GetLastWriteTimeUtc(target));
        // The index was written all the same, as a regular file of its own.
        var index = new FileInfo(Path.Combine(maildir, "restante-index"));
        Assert.True(index.Exists);
        Assert.Null(index.LinkTarget);
        Assert.Contains("\t" + NormalOctets, File.ReadAllText(index.FullName), StringComparison.Ordinal);
    }

    [Fact]
    public Task A_planted_index_symlink_to_a_fifo_neither_blocks_the_login_nor_is_followed() => WithServerAsync(async server =>
    {
        var fifo = Path.Combine(server.Data.Path, "outside", "fifo");
        Directory.CreateDirectory(Path.GetDirectoryName(fifo)!);
        Assert.Equal(0, Mkfifo(fifo, 0b110_000_000));
        server.Deliver("alice", Normal, 1_700_000_005);
        var maildir = server.MaildirOf("alice");
        // Today's open(2) of the index waits for a writer to the FIFO, forever.
        File.CreateSymbolicLink(Path.Combine(maildir, "restante-index"), fifo);

        await using (var c = await server.LoginAsync("alice", "secret"))
        {
            await c.SendAsync("STAT");
            await c.ExpectAsync($"+OK 1 {NormalOctets}");
        }

        // The link was replaced by an index of our own; the FIFO it named is untouched.
        Assert.Null(new FileInfo(Path.Combine(maildir, "restante-index")).LinkTarget);
        Assert.True(File.Exists(fifo));
    });

    [Fact]
    public async Task A_symlinked_tmp_refuses_the_mailbox_and_the_sweep_deletes_nothing_outside()
    {
        await using var server = await StartWithAliceAsync();
        var victim = Path.Combine(server.Data.Path, "outside", "victim");
        Directory.CreateDirectory(victim);
        var old = Path.Combine(victim, "old-file");
        File.WriteAllText(old, "keep me\n");
        File.SetLastWriteTimeUtc(old, DateTime.UtcNow - TimeSpan.FromHours(40));
        server.Deliver("alice", Normal, 1_700_000_005);
        var tmp = Path.Combine(server.MaildirOf("alice"), "tmp");
        Directory.Delete(tmp);
        Directory.CreateSymbolicLink(tmp, victim);

        await AssertRefusedAsync(server);

        Assert.Equal("keep me\n", File.ReadAllText(old));
    }

    [Theory]
    [InlineData("cur")]
    [InlineData("new")]
    public async Task A_symlinked_message_folder_refuses_the_mailbox(string folder)
    {
        await using var server = await StartWithAliceAsync();
        var elsewhere = Path.Combine(server.Data.Path, "outside", "folder");
        Directory.CreateDirectory(elsewhere);
        File.WriteAllText(Path.Combine(elsewhere, "1700000000.s.host"), Secret);
        server.Deliver("alice", Normal, 1_700_000_005);
        var path = Path.Combine(server.MaildirOf("alice"), folder);
        foreach (var file in Directory.GetFiles(path)) File.Move(file, Path.Combine(server.MaildirOf("alice"), folder == "new" ? "cur" : "new", Path.GetFileName(file)));
        Directory.Delete(path);
        Directory.CreateSymbolicLink(path, elsewhere);

        await AssertRefusedAsync(server);
    }

    [Fact]
    public async Task A_symlinked_maildir_is_refused()
    {
        await using var server = await StartWithAliceAsync();
        var elsewhere = Path.Combine(server.Data.Path, "outside", "Maildir");
        foreach (var sub in new[] { "tmp", "new", "cur" }) Directory.CreateDirectory(Path.Combine(elsewhere, sub));
        File.WriteAllText(Path.Combine(elsewhere, "new", "1700000000.s.host"), Secret);
        Directory.CreateDirectory(Path.GetDirectoryName(server.MaildirOf("alice"))!);
        Directory.CreateSymbolicLink(server.MaildirOf("alice"), elsewhere);

        await AssertRefusedAsync(server);

        Assert.False(File.Exists(Path.Combine(elsewhere, "restante-pop3.lock")));
    }

    [Fact]
    public async Task A_symlinked_home_below_the_template_root_is_refused_and_nothing_is_created_there()
    {
        // /home/%u/Maildir: alice owns /home/alice, so she can point it anywhere.
        var data = new TempDirectory();
        await using var server = await TestServer.StartAsync(data: data, configureServer: o => o.Maildir = Path.Combine(data.Path, "home", "%u", "Maildir"));
        server.AddUser("alice", "secret");
        var elsewhere = Path.Combine(data.Path, "outside", "elsewhere");
        Directory.CreateDirectory(elsewhere);
        Directory.CreateDirectory(Path.Combine(data.Path, "home"));
        Directory.CreateSymbolicLink(Path.Combine(data.Path, "home", "alice"), elsewhere);

        await using (var c = await server.ConnectAsync())
        {
            await c.ExpectAsync("+OK");
            await c.SendAsync("USER alice");
            await c.ExpectAsync("+OK");
            await c.SendAsync("PASS secret");
            await c.ExpectAsync("-ERR [SYS/PERM]");
        }
        var (lmtp, _) = await Restante.Tests.Lmtp.Lmtp.GreetAsync(server);
        await using (lmtp)
        {
            await Restante.Tests.Lmtp.Lmtp.SendMessageAsync(lmtp, "s@example.org", Restante.Tests.Lmtp.Lmtp.Message, "alice");
            await lmtp.ExpectAsync("452 ");
        }

        Assert.Empty(Directory.GetFileSystemEntries(elsewhere));
        Assert.Contains(server.Logs.Lines, l => l.Contains("Refusing", StringComparison.Ordinal) && l.Contains("alice is a symlink", StringComparison.Ordinal));
    }

    [Fact]
    public async Task A_planted_lock_file_symlink_is_neither_followed_nor_needed()
    {
        // The lock was once a file restante-pop3.lock in the root; now it is a flock on the root itself.
        await using var server = await StartWithAliceAsync();
        server.Deliver("alice", Normal, 1_700_000_005);
        var target = Path.Combine(server.Data.Path, "outside", "created-by-lock");
        Directory.CreateDirectory(Path.GetDirectoryName(target)!);
        File.CreateSymbolicLink(Path.Combine(server.MaildirOf("alice"), "restante-pop3.lock"), target);

        await using (var c = await server.LoginAsync("alice", "secret"))
        {
            await c.SendAsync("STAT");
            await c.ExpectAsync($"+OK 1 {NormalOctets}");
        }

        Assert.False(File.Exists(target));
    }

    [Fact]
    public Task Dev_zero_in_new_cannot_wedge_a_login() => WithServerAsync(async server =>
    {
        server.Deliver("alice", Normal, 1_700_000_005);
        // No ,W=: today's code counts its size by reading it, forever.
        File.CreateSymbolicLink(Path.Combine(server.MaildirOf("alice"), "new", "1700000001.z.host"), "/dev/zero");

        // Generous for a loaded 2-core machine: the login itself takes milliseconds.
        var bound = TimeSpan.FromSeconds(10);
        var watch = Stopwatch.StartNew();
        await using (var c = await server.ConnectAsync())
        {
            await c.ExpectAsync("+OK");
            await c.SendAsync("USER alice");
            await c.ExpectAsync("+OK");
            await c.SendAsync("PASS secret");
            await c.ExpectAsync("+OK Logged in, 1 messages");
            Assert.True(watch.Elapsed < bound, $"login took {watch.Elapsed}");
            await c.SendAsync("QUIT");
            await c.ExpectAsync("+OK");
        }

        // The mailbox is not left [IN-USE].
        await using (var again = await server.LoginAsync("alice", "secret"))
        {
            await again.SendAsync("STAT");
            await again.ExpectAsync($"+OK 1 {NormalOctets}");
        }
    });

    [Fact]
    public async Task A_huge_sparse_message_is_left_out_once_the_sizing_budget_is_spent()
    {
        using var dirs = new TempMaildirs();
        var store = new MaildirStore(Path.Combine(dirs.Root, "%u", "Maildir"), null, fsync: false, TimeProvider.System, sizingBudget: TimeSpan.FromSeconds(1));
        dirs.Put("alice", "new", "1700000000.M1P1.host,S=19,W=22", Normal);
        // A regular file of 1 TiB that takes no disk space; reading it to count its size takes minutes.
        await using (var sparse = File.Create(Path.Combine(dirs.MaildirOf("alice"), "new", "1700000001.M2P1.host")))
            sparse.SetLength(1L << 40);

        // Generous for a loaded 2-core machine: the budget is one second.
        var bound = TimeSpan.FromSeconds(15);
        for (var login = 0; login < 2; login++)
        {
            var watch = Stopwatch.StartNew();
            await using var drop = await store.OpenAsync("alice", CancellationToken.None);
            Assert.True(watch.Elapsed < bound, $"open took {watch.Elapsed}");
            Assert.Equal(NormalOctets, Assert.Single(drop.Messages).Size);
        }
    }

    [Theory]
    [InlineData("tmp")]
    [InlineData("new")]
    public async Task Delivery_into_a_symlinked_folder_writes_nothing_outside(string folder)
    {
        await using var server = await StartWithAliceAsync();
        server.Deliver("alice", Normal, 1_700_000_005);
        var elsewhere = Path.Combine(server.Data.Path, "outside", "drop");
        Directory.CreateDirectory(elsewhere);
        var path = Path.Combine(server.MaildirOf("alice"), folder);
        foreach (var file in Directory.GetFiles(path)) File.Move(file, Path.Combine(server.MaildirOf("alice"), "cur", Path.GetFileName(file)));
        Directory.Delete(path);
        Directory.CreateSymbolicLink(path, elsewhere);

        var (c, _) = await Restante.Tests.Lmtp.Lmtp.GreetAsync(server);
        await using (c)
        {
            await Restante.Tests.Lmtp.Lmtp.SendMessageAsync(c, "s@example.org", Restante.Tests.Lmtp.Lmtp.Message, "alice");
            // A temporary failure: the sending MTA keeps the message while the operator looks.
            await c.ExpectAsync("452 ");
        }

        Assert.Empty(Directory.GetFileSystemEntries(elsewhere));
    }

    [Fact]
    public async Task Cur_swapped_for_a_symlink_during_a_session_is_refused_and_quit_deletes_nothing()
    {
        await using var server = await StartWithAliceAsync();
        var maildir = server.MaildirOf("alice");
        Directory.CreateDirectory(Path.Combine(maildir, "cur"));
        const string name = "1700000000.M1P1.host,S=19,W=22:2,S";
        File.WriteAllText(Path.Combine(maildir, "cur", name), Normal);

        await using (var c = await server.LoginAsync("alice", "secret"))
        {
            // Meanwhile the user moves cur/ away and points cur at a directory with the same name in it.
            var elsewhere = Path.Combine(server.Data.Path, "outside", "victim");
            Directory.CreateDirectory(elsewhere);
            File.WriteAllText(Path.Combine(elsewhere, name), "keep me\n");
            Directory.Move(Path.Combine(maildir, "cur"), Path.Combine(maildir, "cur.moved"));
            Directory.CreateSymbolicLink(Path.Combine(maildir, "cur"), elsewhere);

            await c.SendAsync("DELE 1");
            await c.ExpectAsync("+OK");
            await c.SendAsync("QUIT");
            // An idle session holds no cur/ descriptor: the folder is opened again at QUIT, O_NOFOLLOW, and refused.
            await c.ExpectAsync("-ERR [SYS/TEMP]");

            Assert.Equal("keep me\n", File.ReadAllText(Path.Combine(elsewhere, name)));
            Assert.Equal([name], Directory.GetFiles(Path.Combine(maildir, "cur.moved")).Select(Path.GetFileName));
        }
        Assert.Contains(server.Logs.Lines, l => l.Contains("Refusing", StringComparison.Ordinal) && l.Contains("cur/ is a symlink", StringComparison.Ordinal));
    }

    [Theory]
    [InlineData("cur")]
    [InlineData("new")]
    public async Task A_folder_swapped_for_a_symlink_after_login_is_refused_to_retr(string folder)
    {
        await using var server = await StartWithAliceAsync();
        var maildir = server.MaildirOf("alice");
        foreach (var sub in new[] { "tmp", "new", "cur" }) Directory.CreateDirectory(Path.Combine(maildir, sub));
        var name = folder == "cur" ? "1700000000.M1P1.host:2,S" : "1700000000.M1P1.host";
        File.WriteAllText(Path.Combine(maildir, folder, name), Normal);

        await using (var c = await server.LoginAsync("alice", "secret"))
        {
            await c.SendAsync("STAT");
            await c.ExpectAsync($"+OK 1 {NormalOctets}");
            // The same name elsewhere holds a secret; the folder becomes a symlink to it.
            var elsewhere = Path.Combine(server.Data.Path, "outside", "secrets");
            Directory.CreateDirectory(elsewhere);
            File.WriteAllText(Path.Combine(elsewhere, name), Secret);
            Directory.Move(Path.Combine(maildir, folder), Path.Combine(maildir, folder + ".moved"));
            Directory.CreateSymbolicLink(Path.Combine(maildir, folder), elsewhere);

            await c.SendAsync("RETR 1");
            await c.ExpectAsync("-ERR [SYS/TEMP]");
            await c.SendAsync("TOP 1 5");
            await c.ExpectAsync("-ERR [SYS/TEMP]");
            await c.SendAsync("NOOP");
            await c.ExpectAsync("+OK");
        }
        Assert.Contains(server.Logs.Lines, l => l.Contains("Refusing", StringComparison.Ordinal) && l.Contains($"{folder}/ is a symlink", StringComparison.Ordinal));
    }

    [System.Runtime.InteropServices.DllImport("libc", EntryPoint = "mkfifo", SetLastError = true)]
    private static extern int Mkfifo([System.Runtime.InteropServices.MarshalAs(System.Runtime.InteropServices.UnmanagedType.LPUTF8Str)] string path, int mode);

    /// <summary>
    /// Runs a test whose failure could leave a session stuck in a system call: stopping the
    /// server is bounded, so a regression fails this test instead of hanging the whole run.
    /// </summary>
    private static async Task WithServerAsync(Func<TestServer, Task> body)
    {
        var server = await StartWithAliceAsync();
        try
        {
            await body(server);
        }
        finally
        {
            await server.DisposeAsync().AsTask().WaitAsync(TimeSpan.FromSeconds(30));
        }
    }

    private static async Task<TestServer> StartWithAliceAsync()
    {
        var server = await TestServer.StartAsync();
        server.AddUser("alice", "secret");
        return server;
    }

    private static string WriteOutside(TestServer server, string name, string content)
    {
        var directory = Path.Combine(server.Data.Path, "outside");
        Directory.CreateDirectory(directory);
        var path = Path.Combine(directory, name);
        File.WriteAllText(path, content, new UTF8Encoding(false));
        return path;
    }

    /// <summary>The login is answered [SYS/PERM], the refusal is logged, and the server still serves others.</summary>
    private static async Task AssertRefusedAsync(TestServer server)
    {
        await using (var c = await server.ConnectAsync())
        {
            await c.ExpectAsync("+OK");
            await c.SendAsync("USER alice");
            await c.ExpectAsync("+OK");
            await c.SendAsync("PASS secret");
            await c.ExpectAsync("-ERR [SYS/PERM]");
        }
        Assert.Contains(server.Logs.Lines, l => l.Contains("Refusing", StringComparison.Ordinal) && l.Contains("alice", StringComparison.Ordinal));

        server.AddUser("bob", "other");
        server.Deliver("bob", Normal, 1_700_000_005);
        await using var b = await server.LoginAsync("bob", "other");
        await b.SendAsync("STAT");
        await b.ExpectAsync($"+OK 1 {NormalOctets}");
    }
}
