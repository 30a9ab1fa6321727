using System.Collections.ObjectModel;
using Microsoft.Extensions.Logging;
using Restante.Protocol;

namespace Restante.Storage.Maildir;

/// <summary>
/// A locked Maildir and the snapshot taken when it was opened. Files are never moved or changed
/// while reading, so a POP3 session leaves no trace in the Maildir until it expunges.
/// </summary>
internal sealed class MaildirMaildrop : IPolicyMaildrop, ISeenFlags
{
    private readonly VerifiedMaildir _maildir;
    private readonly MaildirEntry[] _entries;
    private readonly ILogger _logger;
    private readonly bool _fsync;
    private readonly PolicyStateFile.State _policyState;
    private readonly TimeProvider? _retainClock;
    private readonly bool[] _expunged;
    private MaildirLock? _lock;

    /// <param name="entries">This session's own copy: entries are updated when another client renames a file.</param>
    /// <param name="policyState">The mailbox's <see cref="PolicyStateFile"/>, read under the lock.</param>
    /// <param name="retainClock">With retention on, the clock that dates deletions (see <see cref="RetainedMessages"/>); null: deletions unlink.</param>
    public MaildirMaildrop(VerifiedMaildir maildir, MaildirEntry[] entries, StoredMessage[] messages, MaildirLock held, ILogger logger, bool fsync,
        PolicyStateFile.State policyState, TimeProvider? retainClock)
    {
        _maildir = maildir;
        _entries = entries;
        _lock = held;
        _logger = logger;
        _fsync = fsync;
        _policyState = policyState;
        _retainClock = retainClock;
        _expunged = new bool[entries.Length];
        Messages = new ReadOnlyCollection<StoredMessage>(messages);
    }

    public DateTimeOffset? LastLogin => _policyState.LastLogin;

    public DateTimeOffset? FirstRetrieved(int index)
        => _policyState.FirstRetrieved.TryGetValue(_entries[index].BaseName, out var time) ? time : null;

    /// <summary>
    /// Rewrites restante-policy with what is true after this session: the retrieval times of the snapshot's messages
    /// that are still here (so the file never grows past the mailbox), the new ones added.
    /// </summary>
    public ValueTask SavePolicyStateAsync(PolicyStateUpdate update, CancellationToken cancellationToken)
    {
        ObjectDisposedException.ThrowIf(_lock is null, this);
        ArgumentNullException.ThrowIfNull(update);
        var next = new PolicyStateFile.State { LastLogin = update.LoginAt ?? _policyState.LastLogin };
        var retrieved = new HashSet<int>(update.Retrieved);
        for (var i = 0; i < _entries.Length; i++)
        {
            if (_expunged[i]) continue;
            var baseName = _entries[i].BaseName;
            if (_policyState.FirstRetrieved.TryGetValue(baseName, out var first)) next.FirstRetrieved[baseName] = first;
            else if (retrieved.Contains(i)) next.FirstRetrieved[baseName] = update.RetrievedAt;
        }
        try
        {
            PolicyStateFile.Write(_maildir, next, _fsync);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            throw new MailStoreException(MailStoreErrorKind.Transient, $"Cannot write {LogText.Of(Path.Join(_maildir.Path, PolicyStateFile.FileName), LogText.PathLimit)}: {ex.Message}", ex);
        }
        _policyState.LastLogin = next.LastLogin;
        _policyState.FirstRetrieved.Clear();
        foreach (var (name, time) in next.FirstRetrieved) _policyState.FirstRetrieved[name] = time;
        return ValueTask.CompletedTask;
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
                MessageFile.Outcome.Opened => ValueTask.FromResult<Stream>(WireForm.IsTrusted(entry.FileName, stream!.SafeFileHandle, entry.Size) ? new WireFormFile(stream, entry.Size) : stream),
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
        Microsoft.Win32.SafeHandles.SafeFileHandle? retainIn = null;
        try
        {
            if (_retainClock is not null) retainIn = RetainedMessages.OpenDay(_maildir, _retainClock.GetUtcNow());
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException or RefusedMaildirException)
        {
            // Nothing is removed rather than removed for good against the operator's retention setting.
            MaildirLog.UnlinkFailed(_logger, LogText.Of(Path.Join(_maildir.Path, RetainedMessages.FolderName), LogText.PathLimit), ex);
            return ValueTask.FromResult(new ExpungeResult(0, indexes.Distinct().Count()));
        }
        using var retained = retainIn;
        foreach (var index in indexes)
        {
            if (done[index]) continue;
            done[index] = true;
            _expunged[index] = true;
            ref var entry = ref _entries[index];
            try
            {
                if (retained is null ? Unlink(ref entry) : Retain(ref entry, retained)) unlinkedIn[(int)entry.Folder]++;
                else alreadyGone++;
            }
            catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
            {
                MaildirLog.UnlinkFailed(_logger, LogText.Of(_maildir.PathOf(entry.Folder, entry.FileName), LogText.PathLimit), ex);
                failed++;
            }
        }
        if (retained is not null && _fsync)
        {
            try
            {
                Posix.FsyncDirectory(retained, Path.Join(_maildir.Path, RetainedMessages.FolderName));
            }
            catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
            {
                MaildirLog.DirectorySyncFailed(_logger, Path.Join(_maildir.Path, RetainedMessages.FolderName), ex);
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

    public bool IsSeen(int index) => MaildirSeenFlag.IsSeen(_entries[index]);

    public ValueTask MarkSeenAsync(IReadOnlyList<int> indexes, CancellationToken cancellationToken)
    {
        ObjectDisposedException.ThrowIf(_lock is null, this);
        foreach (var index in indexes)
        {
            try
            {
                MaildirSeenFlag.Mark(_maildir, ref _entries[index]);
            }
            catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
            {
                throw new MailStoreException(MailStoreErrorKind.Transient, $"Cannot flag {LogText.Of(_maildir.PathOf(_entries[index].Folder, _entries[index].FileName), LogText.PathLimit)} seen: {ex.Message}", ex);
            }
        }
        return ValueTask.CompletedTask;
    }

    /// <summary>Moves the entry's file into the retention folder under the same name; false when already gone.</summary>
    private bool Retain(ref MaildirEntry entry, Microsoft.Win32.SafeHandles.SafeFileHandle retained)
    {
        for (var attempt = 0; attempt < 2; attempt++)
        {
            try
            {
                // replace: a message deleted, restored and deleted again the same day is the same message.
                Posix.RenameAt(_maildir.Folder(entry.Folder), entry.FileName, retained, entry.FileName, replace: true, _maildir.PathOf(entry.Folder, entry.FileName));
                return true;
            }
            catch (DirectoryNotFoundException) when (attempt == 0)
            {
                if (!Snapshot.TryRelocate(_maildir, ref entry)) return false;
            }
            catch (DirectoryNotFoundException)
            {
                return false;
            }
        }
        return false;
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
