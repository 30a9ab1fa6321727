using Restante.Storage.Maildir;
using Restante.Tests.Infrastructure;
using Restante.Tests.Tls;

namespace Restante.Tests.Storage;

/// <summary>
/// The Maildir lock's fallback for file systems where a directory cannot be flocked: NFS emulates flock with fcntl
/// locks, and an exclusive one needs a descriptor open for writing, which a directory never is (EBADF; ENOLCK where
/// the lock manager is missing). No NFS mount is possible here, so the root's flock answer is handed to
/// <see cref="MaildirLock"/> as NFS gives it; everything after that is real: the lock file in a real Maildir, real
/// flock on it, contention with a second open of the Maildir and with flock(1) in another process.
/// </summary>
[System.Runtime.Versioning.SupportedOSPlatform("linux")]
public sealed class MaildirLockFallbackTests
{
    private const int EBadF = 9;       // flock on an NFS directory (fcntl emulation needs O_RDWR)
    private const int ENoLck = 37;     // NFS without a lock manager
    private const int EIo = 5;

    private static VerifiedMaildir Open(TempDirectory data)
    {
        var path = Path.Combine(data.Path, "mail", "alice");
        return VerifiedMaildir.Open(path, data.Path.Length, create: true);
    }

    private static string LockFile(TempDirectory data) => Path.Combine(data.Path, "mail", "alice", MaildirLock.FileName);

    [Theory]
    [InlineData(EBadF)]
    [InlineData(ENoLck)]
    public void Where_the_root_cannot_be_flocked_the_lock_file_keeps_two_sessions_apart_and_stays(int rootErrno)
    {
        using var data = new TempDirectory();
        using var first = Open(data);
        using var second = Open(data);

        // In using as well as released by hand below (Dispose is idempotent): a failed assertion must not leave it held.
        using var held = MaildirLock.TryAcquire(first, rootErrno);
        Assert.NotNull(held);
        Assert.True(File.Exists(LockFile(data)));
        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(LockFile(data)));
        // A second session of the same mailbox, through its own open of the Maildir: refused while the first holds it.
        Assert.Null(MaildirLock.TryAcquire(second, rootErrno));

        held.Dispose();
        // Released, and the file is still there: deleting it would let two sessions lock two different inodes.
        Assert.True(File.Exists(LockFile(data)));
        using var again = MaildirLock.TryAcquire(second, rootErrno);
        Assert.NotNull(again);
        Assert.Null(MaildirLock.TryAcquire(first, rootErrno));
    }

    [SkippableFact]
    public async Task The_lock_file_is_a_real_flock_another_process_sees_and_respects()
    {
        Skip.If(Restante.Tests.Packaging.SystemdUnitTests.FindOnPath("flock") is null,
            "flock(1) is not installed (Debian package util-linux): the other process that holds and tests the lock file");
        using var data = new TempDirectory();
        using var maildir = Open(data);

        using var held = MaildirLock.TryAcquire(maildir, EBadF);
        Assert.NotNull(held);
        var (busy, _) = await Processes.RunAsync("flock", null, "--nonblock", "--conflict-exit-code", "75", LockFile(data), "true");
        Assert.Equal(75, busy);
        held.Dispose();
        var (free, output) = await Processes.RunAsync("flock", null, "--nonblock", "--conflict-exit-code", "75", LockFile(data), "true");
        Assert.True(free == 0, output);

        // The other way round: another program holding the file (flock(1), as the class summary tells operators) keeps a session out.
        using var holder = System.Diagnostics.Process.Start(new System.Diagnostics.ProcessStartInfo("flock", [LockFile(data), "sleep", "30"]))!;
        try
        {
            var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(20);
            MaildirLock? taken;
            // Until flock(1) has taken it: then every attempt is refused.
            while ((taken = MaildirLock.TryAcquire(maildir, EBadF)) is not null && DateTime.UtcNow < deadline)
            {
                taken.Dispose();
                await Task.Delay(20);
            }
            Assert.Null(taken);
            Assert.Null(MaildirLock.TryAcquire(maildir, EBadF));
        }
        finally
        {
            holder.Kill(entireProcessTree: true);   // flock(1) runs sleep as its child, which holds the descriptor too
            await holder.WaitForExitAsync();
        }
        // Free once flock(1)'s child is gone too (the kill reaches it a moment after flock itself has been waited for).
        var until = DateTime.UtcNow + TimeSpan.FromSeconds(20);
        MaildirLock? afterwards;
        while ((afterwards = MaildirLock.TryAcquire(maildir, EBadF)) is null && DateTime.UtcNow < until) await Task.Delay(20);
        using (afterwards) Assert.NotNull(afterwards);
    }

    [Fact]
    public async Task A_planted_symlink_or_fifo_in_place_of_the_lock_file_refuses_the_mailbox_and_touches_nothing()
    {
        using var data = new TempDirectory();
        using var maildir = Open(data);
        var elsewhere = Path.Combine(data.Path, "elsewhere");
        File.WriteAllText(elsewhere, "not yours");
        File.CreateSymbolicLink(LockFile(data), elsewhere);

        var symlink = Assert.Throws<RefusedMaildirException>(() => MaildirLock.TryAcquire(maildir, EBadF));
        Assert.Contains("is a symlink", symlink.Message, StringComparison.Ordinal);
        Assert.Equal("not yours", File.ReadAllText(elsewhere));

        File.Delete(LockFile(data));
        Assert.Equal(0, (await Processes.RunAsync("mkfifo", null, LockFile(data))).ExitCode);
        var fifo = Assert.Throws<RefusedMaildirException>(() => MaildirLock.TryAcquire(maildir, EBadF));
        Assert.Contains("is not a regular file", fifo.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Any_other_flock_error_is_an_error_and_no_lock_file_is_made()
    {
        using var data = new TempDirectory();
        using var maildir = Open(data);

        Assert.ThrowsAny<IOException>(() => MaildirLock.TryAcquire(maildir, EIo));
        Assert.False(File.Exists(LockFile(data)));
    }
}
