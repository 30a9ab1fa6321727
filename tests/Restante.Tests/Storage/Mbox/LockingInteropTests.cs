using System.Diagnostics;
using System.Text;
using Restante.Storage;
using Restante.Storage.Mbox;

namespace Restante.Tests.Storage.Mbox;

/// <summary>A fact that needs a locking program (procmail, dotlockfile, python3); without it the runner reports a skip with the reason.</summary>
public sealed class ToolFactAttribute : FactAttribute
{
    public ToolFactAttribute(params string[] programs)
    {
        var missing = programs.Where(p => !Environment.GetEnvironmentVariable("PATH")!.Split(':').Any(d => File.Exists(Path.Combine(d, p)))).ToList();
        if (missing.Count > 0) Skip = $"{string.Join(", ", missing)} not installed (test.sh installs procmail and liblockfile-bin).";
    }
}

/// <summary>
/// The spool is shared with the MTA's delivery agent: real procmail (dotlock + fcntl), a dotlock
/// held by liblockfile's dotlockfile, and an fcntl lock held by another process. Deliveries during
/// a POP3 session and during a QUIT rewrite wait or append, and nothing is lost.
/// </summary>
public class LockingInteropTests
{
    private static async Task ProcmailAsync(MboxFixture f, string user, string message)
    {
        var rc = Path.Combine(f.SpoolDirectory, "..", "procmailrc");
        // ":0:" takes the dotlock USER.lock beside the mailbox, and procmail adds its fcntl lock.
        // LOCKSLEEP: procmail's wait between tries on a taken dotlock (8 s by default).
        if (!File.Exists(rc)) await File.WriteAllTextAsync(rc, $"LOCKSLEEP=1\n:0:\n{f.SpoolDirectory}/{user}\n");
        var start = new ProcessStartInfo("procmail") { RedirectStandardInput = true, RedirectStandardError = true };
        foreach (var a in new[] { "-f", "sender@example.org", "-m", rc }) start.ArgumentList.Add(a);
        using var process = Process.Start(start)!;
        await process.StandardInput.WriteAsync(message);
        process.StandardInput.Close();
        var error = await process.StandardError.ReadToEndAsync();
        await process.WaitForExitAsync();
        Assert.True(process.ExitCode == 0, $"procmail exited {process.ExitCode}: {error}");
    }

    // A procmail being started forks this process: until it execs, the child holds copies of our
    // descriptors (close-on-exec closes them only at exec), the session lock's among them.
    private static async Task<IMaildrop> OpenAllowingForksAsync(MboxStore store, string user = "alice")
    {
        for (var attempt = 0; ; attempt++)
        {
            try
            {
                return await store.OpenAsync(user, CancellationToken.None);
            }
            catch (MailStoreException ex) when (ex.Kind == MailStoreErrorKind.InUse && attempt < 100)
            {
                await Task.Delay(20);
            }
        }
    }

    private static async Task<List<string>> ReadAllAsync(MboxStore store, string user)
    {
        await using var drop = await OpenAllowingForksAsync(store, user);
        var all = new List<string>();
        for (var i = 0; i < drop.Messages.Count; i++) all.Add(await MboxFixture.ReadAsync(drop, i));
        return all;
    }

    [ToolFact("procmail")]
    public async Task Procmail_delivering_during_a_session_is_kept_by_quit()
    {
        using var f = new MboxFixture();
        for (var i = 0; i < 3; i++) await ProcmailAsync(f, "alice", $"Subject: {i}\n\nbody {i}\nFrom the body\n");
        var store = f.CreateStore();
        await using (var drop = await store.OpenAsync("alice", CancellationToken.None))
        {
            Assert.Equal(3, drop.Messages.Count);
            Assert.Equal("Subject: 0\n\nbody 0\nFrom the body\n", await MboxFixture.ReadAsync(drop, 0));
            // The session holds no spool lock: procmail delivers at once.
            await ProcmailAsync(f, "alice", "Subject: during\n\nduring\n");
            await drop.ExpungeAsync([0, 1], CancellationToken.None);
        }
        Assert.Equal(["Subject: 2\n\nbody 2\nFrom the body\n", "Subject: during\n\nduring\n"], await ReadAllAsync(store, "alice"));
    }

    [ToolFact("procmail")]
    public async Task Procmail_waits_for_a_quit_rewrite_and_then_appends()
    {
        using var f = new MboxFixture();
        for (var i = 0; i < 4; i++) await ProcmailAsync(f, "alice", $"Subject: {i}\n\n{i}\n");
        var store = f.CreateStore();
        using var inRewrite = new ManualResetEventSlim();
        using var release = new ManualResetEventSlim();
        store.FaultHook = step =>
        {
            if (step != "journal-written") return;
            inRewrite.Set();
            release.Wait(TimeSpan.FromSeconds(60));
        };
        await using (var drop = await store.OpenAsync("alice", CancellationToken.None))
        {
            var quit = Task.Run(async () => await drop.ExpungeAsync([0, 2], CancellationToken.None));
            Assert.True(inRewrite.Wait(TimeSpan.FromSeconds(30)));
            var delivery = ProcmailAsync(f, "alice", "Subject: waited\n\nwaited\n");
            // procmail sees our dotlock and fcntl lock and waits (generously long for a loaded machine).
            await Task.Delay(TimeSpan.FromSeconds(1.5));
            Assert.False(delivery.IsCompleted, "procmail appended while the spool was being rewritten");
            release.Set();
            await quit;
            await delivery;
        }
        store.FaultHook = null;
        Assert.Equal(["Subject: 1\n\n1\n", "Subject: 3\n\n3\n", "Subject: waited\n\nwaited\n"], await ReadAllAsync(store, "alice"));
    }

    [ToolFact("procmail")]
    public async Task Concurrent_procmail_deliveries_and_quit_rewrites_lose_nothing()
    {
        using var f = new MboxFixture();
        const int count = 40;
        var store = f.CreateStore();
        var deliveries = Task.WhenAll(Enumerable.Range(0, count).Select(async i =>
        {
            await Task.Delay(i * 20);
            await ProcmailAsync(f, "alice", $"Subject: m{i}\n\nmessage {i}\n");
        }));
        var taken = new List<string>();
        var round = 0;
        while (!deliveries.IsCompleted || round == 0)
        {
            round++;
            await using var drop = await OpenAllowingForksAsync(store);
            var seen = new List<int>();
            for (var i = 0; i < drop.Messages.Count; i += 2)
            {
                taken.Add(await MboxFixture.ReadAsync(drop, i));
                seen.Add(i);
            }
            await drop.ExpungeAsync(seen, CancellationToken.None);
        }
        await deliveries;
        var left = await ReadAllAsync(store, "alice");
        var all = taken.Concat(left).OrderBy(s => s, StringComparer.Ordinal).ToList();
        Assert.Equal(Enumerable.Range(0, count).Select(i => $"Subject: m{i}\n\nmessage {i}\n").OrderBy(s => s, StringComparer.Ordinal), all);
    }

    [ToolFact("dotlockfile")]
    public async Task A_dotlock_held_by_dotlockfile_makes_login_wait_and_a_stale_one_is_broken()
    {
        using var f = new MboxFixture();
        f.WriteSpool("alice", MboxFixture.Entry("Subject: x\n\nx\n"));
        var dotlock = f.SpoolOf("alice") + ".lock";
        var (code, output) = await RunAsync("dotlockfile", "-l", "-r", "0", dotlock);
        Assert.True(code == 0, output);
        var store = f.CreateStore();
        store.LockTimeout = TimeSpan.FromSeconds(60);
        var open = store.OpenAsync("alice", CancellationToken.None).AsTask();
        await Task.Delay(TimeSpan.FromSeconds(1));
        Assert.False(open.IsCompleted, "the login read the spool while liblockfile's dotlock was held");
        (code, output) = await RunAsync("dotlockfile", "-u", dotlock);
        Assert.True(code == 0, output);
        await using (var drop = await open) Assert.Single(drop.Messages);

        // A short wait gives up with a temporary failure; a dotlock older than Postfix's stale time is removed.
        (code, output) = await RunAsync("dotlockfile", "-l", "-r", "0", dotlock);
        Assert.True(code == 0, output);
        store.LockTimeout = TimeSpan.FromMilliseconds(300);
        var error = await Assert.ThrowsAsync<MailStoreException>(async () => await store.OpenAsync("alice", CancellationToken.None));
        Assert.Equal(MailStoreErrorKind.Transient, error.Kind);
        File.SetLastWriteTimeUtc(dotlock, DateTime.UtcNow - SpoolLock.StaleDotlockAge - TimeSpan.FromMinutes(1));
        await using (var drop = await store.OpenAsync("alice", CancellationToken.None)) Assert.Single(drop.Messages);
        Assert.False(File.Exists(dotlock));
    }

    [ToolFact("python3")]
    public async Task An_fcntl_lock_held_by_another_process_makes_delivery_and_quit_wait()
    {
        using var f = new MboxFixture();
        f.WriteSpool("alice", MboxFixture.Entry("Subject: 1\n\n1\n") + MboxFixture.Entry("Subject: 2\n\n2\n"));
        var store = f.CreateStore();
        store.LockTimeout = TimeSpan.FromSeconds(60);
        var drop = await store.OpenAsync("alice", CancellationToken.None);
        // Python's fcntl.lockf is the classic F_SETLKW lock Postfix local(8) takes.
        var start = new ProcessStartInfo("python3") { RedirectStandardInput = true, RedirectStandardOutput = true };
        start.ArgumentList.Add("-c");
        start.ArgumentList.Add("import fcntl,sys; f=open(sys.argv[1],'r+'); fcntl.lockf(f, fcntl.LOCK_EX); print('locked', flush=True); sys.stdin.read()");
        start.ArgumentList.Add(f.SpoolOf("alice"));
        using var holder = Process.Start(start)!;
        Assert.Equal("locked", await holder.StandardOutput.ReadLineAsync());
        var quit = drop.ExpungeAsync([0], CancellationToken.None).AsTask();
        var delivery = store.DeliverAsync("alice", new MemoryStream("Subject: 3\n\n3\n"u8.ToArray()), CancellationToken.None).AsTask();
        await Task.Delay(TimeSpan.FromSeconds(1));
        Assert.False(quit.IsCompleted, "QUIT rewrote the spool under another process's fcntl lock");
        Assert.False(delivery.IsCompleted, "delivery appended under another process's fcntl lock");
        holder.StandardInput.Close();
        await holder.WaitForExitAsync();
        await quit;
        await delivery;
        await drop.DisposeAsync();
        Assert.Equal(["Subject: 2\n\n2\n", "Subject: 3\n\n3\n"], await ReadAllAsync(store, "alice"));
    }

    private static async Task<(int, string)> RunAsync(string program, params string[] arguments)
    {
        var start = new ProcessStartInfo(program) { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var a in arguments) start.ArgumentList.Add(a);
        using var process = Process.Start(start)!;
        var output = await process.StandardOutput.ReadToEndAsync() + await process.StandardError.ReadToEndAsync();
        await process.WaitForExitAsync();
        return (process.ExitCode, output);
    }
}
