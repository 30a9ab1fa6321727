using Microsoft.Win32.SafeHandles;

namespace Restante.Storage.Maildir;

/// <summary>
/// The one-session-per-mailbox lock: an exclusive flock(2) on <c>restante-pop3.lock</c> in the
/// Maildir root. The kernel drops it when the descriptor is closed, including when the process
/// dies (even by SIGKILL), so there is never a stale lock to clean up; the file's existence
/// means nothing and it is never deleted (deleting it would let two sessions lock two inodes).
/// flock conflicts between two descriptors of the same process too, so it also keeps apart two
/// sessions inside one server.
/// </summary>
internal sealed class MaildirLock : IDisposable
{
    public const string FileName = "restante-pop3.lock";

    private readonly SafeFileHandle _handle;

    private MaildirLock(SafeFileHandle handle) => _handle = handle;

    /// <summary>
    /// Takes the lock without waiting; null when another session holds it. A lock file that is a
    /// symlink (which O_NOFOLLOW refuses to open or create through) or not a regular file refuses
    /// the mailbox.
    /// </summary>
    public static MaildirLock? TryAcquire(VerifiedMaildir maildir)
    {
        // Our own open and flock rather than FileShare.None: the errno tells "held by someone
        // else" (EWOULDBLOCK) apart from a real I/O error, and the lock keeps working when
        // DOTNET_SYSTEM_IO_DISABLEFILELOCKING turns .NET's own file locking off.
        var path = Path.Join(maildir.Path, FileName);
        var errno = Posix.TryOpenForLockingAt(maildir.Root, FileName, out var handle);
        if (errno == Posix.ELoop) throw new RefusedMaildirException(maildir.Path, $"{FileName} is a symlink");
        if (errno != 0) throw Posix.ErrnoException("open", path, errno);
        try
        {
            if (Posix.Stat(handle!).Kind != Posix.FileKind.Regular)
                throw new RefusedMaildirException(maildir.Path, $"{FileName} is not a regular file");
            if (Posix.TryLockExclusive(handle!, path)) return new MaildirLock(handle!);
        }
        catch
        {
            handle!.Dispose();
            throw;
        }
        handle!.Dispose();
        return null;
    }

    public void Dispose() => _handle.Dispose();
}
