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

    // The descriptor holding the flock (a SafeFileHandle, or the FileStream that owns it).
    private readonly IDisposable _holder;

    private MaildirLock(IDisposable holder) => _holder = holder;

    /// <summary>Takes the lock without waiting; null when another session holds it.</summary>
    public static MaildirLock? TryAcquire(string maildir)
    {
        var path = Path.Combine(maildir, FileName);
        if (!Posix.IsLinux) return TryAcquireWithFileShare(path);

        // Our own open and flock rather than FileShare.None: the errno tells "held by someone
        // else" (EWOULDBLOCK) apart from a real I/O error, and the lock keeps working when
        // DOTNET_SYSTEM_IO_DISABLEFILELOCKING turns .NET's own file locking off.
        var handle = Posix.OpenForLocking(path);
        try
        {
            if (Posix.TryLockExclusive(handle, path)) return new MaildirLock(handle);
        }
        catch
        {
            handle.Dispose();
            throw;
        }
        handle.Dispose();
        return null;
    }

    // Elsewhere FileShare.None is the lock (.NET takes flock(LOCK_EX|LOCK_NB) on other Unixes,
    // a share-mode lock on Windows); a sharing failure on an existing file is taken as "in use".
    private static MaildirLock? TryAcquireWithFileShare(string path)
    {
        try
        {
            return new MaildirLock(new FileStream(path, PrivateFile.Options(FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.None)));
        }
        catch (IOException) when (File.Exists(path))
        {
            return null;
        }
    }

    public void Dispose() => _holder.Dispose();
}
