using Microsoft.Extensions.Logging;
using Restante.Protocol;

namespace Restante.Storage.Maildir;

/// <summary>
/// A locked Maildir and the snapshot taken when it was opened. Files are never moved or changed
/// while reading, so a POP3 session leaves no trace in the Maildir until it expunges. Between
/// operations it holds one descriptor, the Maildir's root (which also carries the lock): each
/// operation opens the folders it needs and closes them when done (see <see cref="VerifiedMaildir"/>).
/// </summary>
internal sealed class MaildirMaildrop : IPolicyMaildrop, ISeenFlags
{
    private readonly VerifiedMaildir _maildir;
    private readonly MaildirListing _listing;
    // Shared with other sessions, so never changed: where this session found a message under
    // another name (renamed by another client, flagged seen) is kept here instead.
    // Made at the first move seen: most sessions see none, and an idle one should not carry an empty dictionary.
    private Dictionary<int, MaildirEntry>? _moved;
    private readonly ILogger _logger;
    private readonly bool _fsync;
    private readonly PolicyStateFile.State _policyState;
    private readonly TimeProvider? _retainClock;
    // Allocated at the first expunge (see MessageMarks).
    private MessageMarks _expunged;
    private MaildirLock? _lock;

    /// <param name="listing">The snapshot, shared and never changed.</param>
    /// <param name="messages">The listing's messages, or the UIDLs a previous server served for them.</param>
    /// <param name="policyState">The mailbox's <see cref="PolicyStateFile"/>, read under the lock.</param>
    /// <param name="retainClock">With retention on, the clock that dates deletions (see <see cref="RetainedMessages"/>); null: deletions unlink.</param>
    public MaildirMaildrop(VerifiedMaildir maildir, MaildirListing listing, IReadOnlyList<StoredMessage> messages, MaildirLock held, ILogger logger, bool fsync,
        PolicyStateFile.State policyState, TimeProvider? retainClock)
    {
        _maildir = maildir;
        _listing = listing;
        _lock = held;
        _logger = logger;
        _fsync = fsync;
        _policyState = policyState;
        _retainClock = retainClock;
        Messages = messages;
    }

    public DateTimeOffset? LastLogin => _policyState.LastLogin;

    public DateTimeOffset? FirstRetrieved(int index)
        => _policyState.FirstRetrieved.Count > 0 && _policyState.FirstRetrieved.TryGetValue(BaseNameOf(index), out var time) ? time : null;

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
        for (var i = 0; i < _listing.Count; i++)
        {
            if (_expunged.IsMarked(i)) continue;
            if (_policyState.FirstRetrieved.Count == 0 && !retrieved.Contains(i)) continue;
            var baseName = BaseNameOf(i);
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

    public static StoredMessage[] MessagesOf(MaildirListing listing)
    {
        var messages = new StoredMessage[listing.Count];
        for (var i = 0; i < messages.Length; i++)
            messages[i] = new StoredMessage(listing.UidOf(i), listing.SizeOf(i));
        return messages;
    }

    /// <summary>Every message as a <see cref="MaildirEntry"/>, for the UIDL import that looks names up one by one.</summary>
    public static MaildirEntry[] EntriesOf(MaildirListing listing)
    {
        var entries = new MaildirEntry[listing.Count];
        for (var i = 0; i < entries.Length; i++) entries[i] = listing.EntryAt(i);
        return entries;
    }

    /// <summary>Message <paramref name="index"/> where this session last saw it.</summary>
    private MaildirEntry EntryOf(int index) => _moved is { } moved && moved.TryGetValue(index, out var entry) ? entry : _listing.EntryAt(index);

    /// <summary>Keeps where an operation found or moved message <paramref name="index"/>.</summary>
    private void Remember(int index, in MaildirEntry entry, in MaildirEntry before)
    {
        if (entry.Folder != before.Folder || !string.Equals(entry.FileName, before.FileName, StringComparison.Ordinal)) (_moved ??= [])[index] = entry;
    }

    public IReadOnlyList<StoredMessage> Messages { get; }

    /// <summary>The base name of message <paramref name="index"/>'s file: what a uidl-map line names.</summary>
    internal string BaseNameOf(int index) => _listing.BaseNameOf(index);

    /// <summary>Where message <paramref name="index"/>'s file was last seen: its folder and full name.</summary>
    internal (MaildirFolder Folder, string Name) FileOf(int index)
    {
        var entry = EntryOf(index);
        return (entry.Folder, entry.FileName);
    }

    /// <summary>The Maildir opened and verified at login, for files beside the messages.</summary>
    internal VerifiedMaildir Maildir => _maildir;

    public ValueTask<Stream> OpenMessageAsync(int index, CancellationToken cancellationToken)
    {
        ObjectDisposedException.ThrowIf(_lock is null, this);
        ArgumentOutOfRangeException.ThrowIfNegative(index);
        ArgumentOutOfRangeException.ThrowIfGreaterThanOrEqual(index, _listing.Count);
        cancellationToken.ThrowIfCancellationRequested();

        var entry = EntryOf(index);
        var before = entry;
        var path = _maildir.PathOf(entry.Folder, entry.FileName);
        try
        {
            var outcome = MessageFile.TryOpenRead(_maildir, entry.Folder, entry.FileName, out var stream, out _);
            if (outcome == MessageFile.Outcome.Missing && Snapshot.TryRelocate(_maildir, ref entry))
            {
                Remember(index, entry, before);
                path = _maildir.PathOf(entry.Folder, entry.FileName);
                outcome = MessageFile.TryOpenRead(_maildir, entry.Folder, entry.FileName, out stream, out _);
            }
            return outcome switch
            {
                MessageFile.Outcome.Opened => ValueTask.FromResult<Stream>(WireForm.IsTrusted(entry.FileName, stream!.Status, entry.Size) ? new WireFormFile(stream, entry.Size) : stream),
                MessageFile.Outcome.Missing => throw new MailStoreException(MailStoreErrorKind.Permanent, $"{LogText.Of(path, LogText.PathLimit)} was removed by someone else."),
                _ => throw new MailStoreException(MailStoreErrorKind.Permanent, $"{LogText.Of(path, LogText.PathLimit)} is not a regular file (a symlink or special file put there after login)."),
            };
        }
        catch (RefusedMaildirException ex)
        {
            // new/ or cur/ was swapped for a symlink since login: nothing is read through it.
            MaildirLog.Refused(_logger, ex.Maildir, ex.Reason);
            throw new MailStoreException(MailStoreErrorKind.Permanent, ex.Message, ex);
        }
        catch (IOException ex)
        {
            throw new MailStoreException(MailStoreErrorKind.Transient, $"Cannot read {LogText.Of(path, LogText.PathLimit)}: {ex.Message}", ex);
        }
        catch (UnauthorizedAccessException ex)
        {
            throw new MailStoreException(MailStoreErrorKind.Permanent, $"Cannot read {LogText.Of(path, LogText.PathLimit)}: {ex.Message}", ex);
        }
        finally
        {
            // The message stays open on its own descriptor; the folder is not needed until the next command.
            _maildir.CloseFolders();
        }
    }

    public ValueTask<ExpungeResult> ExpungeAsync(IReadOnlyList<int> indexes, CancellationToken cancellationToken)
    {
        try
        {
            return ValueTask.FromResult(Expunge(indexes, cancellationToken));
        }
        finally
        {
            _maildir.CloseFolders();
        }
    }

    private ExpungeResult Expunge(IReadOnlyList<int> indexes, CancellationToken cancellationToken)
    {
        ObjectDisposedException.ThrowIf(_lock is null, this);
        ArgumentNullException.ThrowIfNull(indexes);
        foreach (var index in indexes)
        {
            ArgumentOutOfRangeException.ThrowIfNegative(index);
            ArgumentOutOfRangeException.ThrowIfGreaterThanOrEqual(index, _listing.Count);
        }
        // Once removal starts it runs to the end: stopping half-way would leave a QUIT half-done.
        cancellationToken.ThrowIfCancellationRequested();

        var done = new bool[_listing.Count];
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
            return new ExpungeResult(0, indexes.Distinct().Count());
        }
        using var retained = retainIn;
        foreach (var index in indexes)
        {
            if (done[index]) continue;
            done[index] = true;
            _expunged.Mark(index, _listing.Count);
            var entry = EntryOf(index);
            try
            {
                var gone = retained is null ? Unlink(ref entry) : Retain(ref entry, retained);
                (_moved ??= [])[index] = entry;
                if (gone) unlinkedIn[(int)entry.Folder]++;
                else alreadyGone++;
            }
            catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
            {
                MaildirLog.UnlinkFailed(_logger, LogText.Of(_maildir.PathOf(entry.Folder, entry.FileName), LogText.PathLimit), ex);
                failed++;
            }
            catch (RefusedMaildirException ex)
            {
                // The folder was swapped for a symlink since login: nothing is removed through it.
                MaildirLog.Refused(_logger, ex.Maildir, ex.Reason);
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
            catch (Exception ex) when (ex is IOException or UnauthorizedAccessException or RefusedMaildirException)
            {
                MaildirLog.DirectorySyncFailed(_logger, directory, ex);
                failed += count;
            }
        }
        return new ExpungeResult(removed, failed);
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

    public bool IsSeen(int index) => _moved is { } all && all.TryGetValue(index, out var moved) ? MaildirSeenFlag.IsSeen(moved) : _listing.IsSeen(index);

    public ValueTask MarkSeenAsync(IReadOnlyList<int> indexes, CancellationToken cancellationToken)
    {
        ObjectDisposedException.ThrowIf(_lock is null, this);
        try
        {
            foreach (var index in indexes)
            {
                var entry = EntryOf(index);
                var before = entry;
                try
                {
                    MaildirSeenFlag.Mark(_maildir, ref entry);
                    Remember(index, entry, before);
                }
                catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
                {
                    throw new MailStoreException(MailStoreErrorKind.Transient, $"Cannot flag {LogText.Of(_maildir.PathOf(entry.Folder, entry.FileName), LogText.PathLimit)} seen: {ex.Message}", ex);
                }
                catch (RefusedMaildirException ex)
                {
                    MaildirLog.Refused(_logger, ex.Maildir, ex.Reason);
                    throw new MailStoreException(MailStoreErrorKind.Permanent, ex.Message, ex);
                }
            }
        }
        finally
        {
            _maildir.CloseFolders();
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
        // LOCK_UN on the root, then closing it: the lock is free before anything else of ours goes.
        var held = Interlocked.Exchange(ref _lock, null);
        if (held is null) return ValueTask.CompletedTask;
        held.Dispose();
        _maildir.Dispose();
        return ValueTask.CompletedTask;
    }
}
