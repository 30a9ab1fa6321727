namespace Restante.Storage.Maildir;

/// <summary>
/// The one-session-per-mailbox lock (RFC 1939 §4: after authentication the server acquires an
/// exclusive-access lock on the maildrop): an exclusive flock(2) on the Maildir's root directory, through the descriptor the
/// session already holds for it (see <see cref="VerifiedMaildir"/>), so the lock costs no
/// descriptor of its own. The kernel drops it when that descriptor is closed, including when the
/// process dies (even by SIGKILL), so there is never a stale lock to clean up, and nothing is
/// created in the Maildir for it. flock conflicts between two open file descriptions of the same
/// process too, and every <see cref="VerifiedMaildir.Open"/> opens the root afresh, so it also
/// keeps apart two sessions inside one server. Other programs take it with <c>flock(1)</c> on the
/// Maildir directory. (Until this release the lock was on a file <c>restante-pop3.lock</c> in the
/// root; a leftover one is ignored. An older and a newer Restante do not see each other's lock.)
/// Where a directory cannot be flocked (NFS without <c>local_lock=flock</c> emulates flock with fcntl
/// locks, and an exclusive one needs a descriptor open for writing, which a directory cannot have:
/// EBADF), the lock falls back to <c>restante-pop3.lock</c> in the root, opened read-write, as before
/// this release. Every server on that file system falls back alike, so they still see each other.
/// </summary>
internal sealed class MaildirLock : IDisposable
{
    /// <summary>The lock file of the fallback (see the class summary).</summary>
    public const string FileName = "restante-pop3.lock";

    private readonly VerifiedMaildir _maildir;
    private readonly Microsoft.Win32.SafeHandles.SafeFileHandle? _file;
    private int _released;

    private MaildirLock(VerifiedMaildir maildir, Microsoft.Win32.SafeHandles.SafeFileHandle? file)
    {
        _maildir = maildir;
        _file = file;
    }

    /// <summary>Takes the lock without waiting; null when another session holds it.</summary>
    public static MaildirLock? TryAcquire(VerifiedMaildir maildir)
        // Our own flock rather than FileShare.None: the errno tells "held by someone else"
        // (EWOULDBLOCK) apart from a real I/O error, and the lock keeps working when
        // DOTNET_SYSTEM_IO_DISABLEFILELOCKING turns .NET's own file locking off.
        => TryAcquire(maildir, Posix.LockExclusive(maildir.Root));

    /// <summary>
    /// What follows flock on the root, given its answer (0: the lock is taken). Apart from the call so the fallback can
    /// be tested on a local file system, where flock on a directory never fails the way it does on NFS.
    /// </summary>
    internal static MaildirLock? TryAcquire(VerifiedMaildir maildir, int errno)
    {
        if (errno == 0) return new MaildirLock(maildir, null);
        if (Posix.IsWouldBlock(errno)) return null;
        if (errno is Posix.EBadF or Posix.ENoLck) return TryAcquireFile(maildir);
        throw Posix.ErrnoException("flock", maildir.Path, errno);
    }

    /// <summary>
    /// The fallback: flock on restante-pop3.lock, opened read-write relative to the verified root without following a
    /// symlink (a planted one refuses the mailbox), never deleted (deleting it would let two sessions lock two inodes).
    /// </summary>
    private static MaildirLock? TryAcquireFile(VerifiedMaildir maildir)
    {
        var path = Path.Join(maildir.Path, FileName);
        var errno = Posix.TryOpenForLockingAt(maildir.Root, FileName, out var handle);
        if (errno == Posix.ELoop) throw new RefusedMaildirException(maildir.Path, $"{FileName} is a symlink");
        if (errno != 0) throw Posix.ErrnoException("open", path, errno);
        try
        {
            if (Posix.Stat(handle!).Kind != Posix.FileKind.Regular)
                throw new RefusedMaildirException(maildir.Path, $"{FileName} is not a regular file");
            if (Posix.TryLockExclusive(handle!, path)) return new MaildirLock(maildir, handle);
        }
        catch
        {
            handle!.Dispose();
            throw;
        }
        handle!.Dispose();
        return null;
    }

    /// <summary>
    /// Releases the lock at once, before the root is closed: a child process forked meanwhile holds a copy of the
    /// descriptor until its exec closes it (O_CLOEXEC), and LOCK_UN releases the lock for that copy too.
    /// </summary>
    public void Dispose()
    {
        if (Interlocked.Exchange(ref _released, 1) != 0) return;
        if (_file is not null)
        {
            _file.Dispose();
            return;
        }
        if (_maildir.Root.IsClosed) return;
        Posix.Unlock(_maildir.Root);
    }
}
