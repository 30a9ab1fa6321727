using System.Collections.ObjectModel;
using Microsoft.Extensions.Logging;
using Restante.Protocol;

namespace Restante.Storage.Maildir;

/// <summary>
/// A locked Maildir and the snapshot taken when it was opened. Files are never moved or changed
/// while reading, so a POP3 session leaves no trace in the Maildir until it expunges.
/// </summary>
internal sealed class MaildirMaildrop : IMaildrop
{
    private readonly VerifiedMaildir _maildir;
    private readonly MaildirEntry[] _entries;
    private readonly ILogger _logger;
    private readonly bool _fsync;
    private MaildirLock? _lock;

    /// <param name="entries">This session's own copy: entries are updated when another client renames a file.</param>
    public MaildirMaildrop(VerifiedMaildir maildir, MaildirEntry[] entries, StoredMessage[] messages, MaildirLock held, ILogger logger, bool fsync)
    {
        _maildir = maildir;
        _entries = entries;
        _lock = held;
        _logger = logger;
        _fsync = fsync;
        Messages = new ReadOnlyCollection<StoredMessage>(messages);
    }

    public static StoredMessage[] MessagesOf(MaildirEntry[] entries)
    {
        var messages = new StoredMessage[entries.Length];
        for (var i = 0; i < entries.Length; i++)
            messages[i] = new StoredMessage(MaildirName.ToUid(entries[i].BaseName), entries[i].Size);
        return messages;
    }

    public IReadOnlyList<StoredMessage> Messages { get; }

    /// <summary>The base name of message <paramref name="index"/>'s file: what a uidl-map line names.</summary>
    internal string BaseNameOf(int index) => _entries[index].BaseName;

    /// <summary>Where message <paramref name="index"/>'s file was last seen: its folder and full name.</summary>
    internal (MaildirFolder Folder, string Name) FileOf(int index) => (_entries[index].Folder, _entries[index].FileName);

    /// <summary>The Maildir opened and verified at login, for files beside the messages.</summary>
    internal VerifiedMaildir Maildir => _maildir;

    public ValueTask<Stream> OpenMessageAsync(int index, CancellationToken cancellationToken)
    {
        ObjectDisposedException.ThrowIf(_lock is null, this);
        ArgumentOutOfRangeException.ThrowIfNegative(index);
        ArgumentOutOfRangeException.ThrowIfGreaterThanOrEqual(index, _entries.Length);
        cancellationToken.ThrowIfCancellationRequested();

        ref var entry = ref _entries[index];
        var path = _maildir.PathOf(entry.Folder, entry.FileName);
        try
        {
            var outcome = MessageFile.TryOpenRead(_maildir, entry.Folder, entry.FileName, out var stream, out _);
            if (outcome == MessageFile.Outcome.Missing && Snapshot.TryRelocate(_maildir, ref entry))
            {
                path = _maildir.PathOf(entry.Folder, entry.FileName);
                outcome = MessageFile.TryOpenRead(_maildir, entry.Folder, entry.FileName, out stream, out _);
            }
            return outcome switch
            {
                MessageFile.Outcome.Opened => ValueTask.FromResult<Stream>(stream!),
                MessageFile.Outcome.Missing => throw new MailStoreException(MailStoreErrorKind.Permanent, $"{LogText.Of(path, LogText.PathLimit)} was removed by someone else."),
                _ => throw new MailStoreException(MailStoreErrorKind.Permanent, $"{LogText.Of(path, LogText.PathLimit)} is not a regular file (a symlink or special file put there after login)."),
            };
        }
        catch (IOException ex)
        {
            throw new MailStoreException(MailStoreErrorKind.Transient, $"Cannot read {LogText.Of(path, LogText.PathLimit)}: {ex.Message}", ex);
        }
        catch (UnauthorizedAccessException ex)
        {
            throw new MailStoreException(MailStoreErrorKind.Permanent, $"Cannot read {LogText.Of(path, LogText.PathLimit)}: {ex.Message}", ex);
        }
    }

    public ValueTask<ExpungeResult> ExpungeAsync(IReadOnlyList<int> indexes, CancellationToken cancellationToken)
    {
        ObjectDisposedException.ThrowIf(_lock is null, this);
        ArgumentNullException.ThrowIfNull(indexes);
        foreach (var index in indexes)
        {
            ArgumentOutOfRangeException.ThrowIfNegative(index);
            ArgumentOutOfRangeException.ThrowIfGreaterThanOrEqual(index, _entries.Length);
        }
        // Once removal starts it runs to the end: stopping half-way would leave a QUIT half-done.
        cancellationToken.ThrowIfCancellationRequested();

        var done = new bool[_entries.Length];
        Span<int> unlinkedIn = stackalloc int[2];   // by MaildirFolder: what a failed sync puts at risk
        var alreadyGone = 0;
        var failed = 0;
        foreach (var index in indexes)
        {
            if (done[index]) continue;
            done[index] = true;
            ref var entry = ref _entries[index];
            try
            {
                if (Unlink(ref entry)) unlinkedIn[(int)entry.Folder]++;
                else alreadyGone++;
            }
            catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
            {
                MaildirLog.UnlinkFailed(_logger, LogText.Of(_maildir.PathOf(entry.Folder, entry.FileName), LogText.PathLimit), ex);
                failed++;
            }
        }

        // unlink(2) is durable only once the directory is synced; report success only after that.
        var removed = alreadyGone;
        foreach (var folder in (ReadOnlySpan<MaildirFolder>)[MaildirFolder.New, MaildirFolder.Cur])
        {
            var count = unlinkedIn[(int)folder];
            if (count == 0) continue;
            var directory = Path.Join(_maildir.Path, VerifiedMaildir.FolderName(folder));
            try
            {
                if (_fsync) Posix.FsyncDirectory(_maildir.Folder(folder), directory);
                removed += count;
            }
            catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
            {
                MaildirLog.DirectorySyncFailed(_logger, directory, ex);
                failed += count;
            }
        }
        return ValueTask.FromResult(new ExpungeResult(removed, failed));
    }

    /// <summary>
    /// Removes the entry's file, following a rename by another client. False when already gone.
    /// unlinkat(2) in the folder opened at login: a folder swapped for a symlink since then cannot
    /// point the removal anywhere else.
    /// </summary>
    private bool Unlink(ref MaildirEntry entry)
    {
        var errno = Posix.UnlinkAt(_maildir.Folder(entry.Folder), entry.FileName);
        if (errno == Posix.ENoEnt)
        {
            if (!Snapshot.TryRelocate(_maildir, ref entry)) return false;
            errno = Posix.UnlinkAt(_maildir.Folder(entry.Folder), entry.FileName);
        }
        if (errno == Posix.ENoEnt) return false;
        if (errno != 0) throw Posix.ErrnoException("unlink", _maildir.PathOf(entry.Folder, entry.FileName), errno);
        return true;
    }

    public ValueTask DisposeAsync()
    {
        // Closing the lock file's descriptor is what releases the flock.
        var held = Interlocked.Exchange(ref _lock, null);
        if (held is null) return ValueTask.CompletedTask;
        held.Dispose();
        _maildir.Dispose();
        return ValueTask.CompletedTask;
    }
}
