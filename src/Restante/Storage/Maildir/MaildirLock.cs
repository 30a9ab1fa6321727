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
/// On NFS a lock on a directory is not known to reach the server: run one server per Maildir tree there.
/// </summary>
internal sealed class MaildirLock : IDisposable
{
    private readonly VerifiedMaildir _maildir;
    private int _released;

    private MaildirLock(VerifiedMaildir maildir) => _maildir = maildir;

    /// <summary>Takes the lock without waiting; null when another session holds it.</summary>
    public static MaildirLock? TryAcquire(VerifiedMaildir maildir)
    {
        // Our own flock rather than FileShare.None: the errno tells "held by someone else"
        // (EWOULDBLOCK) apart from a real I/O error, and the lock keeps working when
        // DOTNET_SYSTEM_IO_DISABLEFILELOCKING turns .NET's own file locking off.
        return Posix.TryLockExclusive(maildir.Root, maildir.Path) ? new MaildirLock(maildir) : null;
    }

    /// <summary>
    /// Releases the lock at once, before the root is closed: a child process forked meanwhile holds a copy of the
    /// descriptor until its exec closes it (O_CLOEXEC), and LOCK_UN releases the lock for that copy too.
    /// </summary>
    public void Dispose()
    {
        if (Interlocked.Exchange(ref _released, 1) != 0 || _maildir.Root.IsClosed) return;
        Posix.Unlock(_maildir.Root);
    }
}
