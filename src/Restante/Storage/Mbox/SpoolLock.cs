using System.Globalization;
using System.Text;
using Microsoft.Win32.SafeHandles;
using Restante.Storage.Maildir;

namespace Restante.Storage.Mbox;

/// <summary>
/// The locks every program that writes a spool takes, in the order Postfix local(8) and procmail
/// take them: first the dotlock <c>USER.lock</c> beside the spool (created with O_EXCL), then an
/// fcntl lock on the spool itself. Held only while the spool is read at login, appended to, or
/// rewritten at QUIT, never for a whole POP3 session, so the MTA never waits long.
/// </summary>
internal sealed class SpoolLock : IDisposable
{
    // Postfix's stale_lock_time default: a dotlock untouched this long was left by a dead process.
    internal static readonly TimeSpan StaleDotlockAge = TimeSpan.FromSeconds(500);

    private static readonly TimeSpan Retry = TimeSpan.FromMilliseconds(50);

    private readonly SafeFileHandle _directory;
    private readonly string? _dotlock;

    private SpoolLock(SafeFileHandle directory, string? dotlock)
    {
        _directory = directory;
        _dotlock = dotlock;
    }

    /// <summary>
    /// Takes the dotlock (when <paramref name="dotlock"/>) and then the fcntl lock on
    /// <paramref name="spool"/>, waiting up to <paramref name="timeout"/> for either.
    /// </summary>
    /// <exception cref="MailStoreException">Transient when another program holds a lock that long.</exception>
    public static async Task<SpoolLock> AcquireAsync(SafeFileHandle directory, string spoolName, Func<SafeFileHandle?> openSpool, bool exclusive,
        bool dotlock, TimeSpan timeout, string pathForErrors, CancellationToken cancellationToken)
    {
        var deadline = DateTime.UtcNow + timeout;
        string? dotlockName = null;
        if (dotlock)
        {
            dotlockName = spoolName + ".lock";
            await TakeDotlockAsync(directory, dotlockName, deadline, pathForErrors, cancellationToken).ConfigureAwait(false);
        }
        var held = new SpoolLock(directory, dotlockName);
        try
        {
            // Opened after the dotlock, as Postfix does: a writer that renamed a new spool into
            // place under the dotlock cannot leave us locking the old inode.
            var spool = openSpool();
            if (spool is null) return held;   // no spool: the dotlock alone keeps a creator out
            held.Spool = spool;
            while (!SpoolFiles.TryLock(spool, exclusive, pathForErrors))
            {
                if (DateTime.UtcNow > deadline)
                    throw new MailStoreException(MailStoreErrorKind.Transient, $"{pathForErrors} is fcntl-locked by another program.");
                await Task.Delay(Retry, cancellationToken).ConfigureAwait(false);
            }
            return held;
        }
        catch
        {
            held.Dispose();
            throw;
        }
    }

    /// <summary>The spool, open and fcntl-locked (the lock goes with this descriptor); null when there is none.</summary>
    public SafeFileHandle? Spool { get; private set; }

    private static async Task TakeDotlockAsync(SafeFileHandle directory, string name, DateTime deadline, string pathForErrors, CancellationToken cancellationToken)
    {
        while (true)
        {
            var errno = Posix.TryCreateExclusiveAt(directory, name, out var handle);
            if (errno == 0)
            {
                // liblockfile and Postfix write the holder's pid; nothing reads it but people.
                using (handle) RandomAccess.Write(handle!, Encoding.ASCII.GetBytes(Environment.ProcessId.ToString(CultureInfo.InvariantCulture) + "\n"), 0);
                return;
            }
            if (errno == 13 || errno == 1)
                throw new MailStoreException(MailStoreErrorKind.Permanent,
                    $"Cannot create the dotlock {pathForErrors}.lock: the spool directory is not writable by this server (give it the spool directory's group, or set Mbox:Dotlock to false).");
            if (errno != Posix.EExist) throw Posix.ErrnoException("open", pathForErrors + ".lock", errno);
            if (Posix.TryStatAt(directory, name, out var status) == 0 && DateTime.UtcNow - status.LastWriteUtc > StaleDotlockAge)
            {
                // Left by a process that died: remove it, as Postfix, procmail and liblockfile do.
                _ = Posix.UnlinkAt(directory, name);
                continue;
            }
            if (DateTime.UtcNow > deadline)
                throw new MailStoreException(MailStoreErrorKind.Transient, $"{pathForErrors}.lock is held by another program.");
            await Task.Delay(Retry, cancellationToken).ConfigureAwait(false);
        }
    }

    public void Dispose()
    {
        // The fcntl lock goes first (closing the descriptor), then the dotlock: the reverse order.
        Spool?.Dispose();
        if (_dotlock is not null) _ = Posix.UnlinkAt(_directory, _dotlock);
    }
}
