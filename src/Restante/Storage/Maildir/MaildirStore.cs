using System.Buffers;
using System.Collections.Concurrent;
using Microsoft.Win32.SafeHandles;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Restante.Protocol;

namespace Restante.Storage.Maildir;

/// <summary>
/// Mailboxes in Maildir format (<c>new/</c>, <c>cur/</c>, <c>tmp/</c>), as Postfix, Exim and
/// Dovecot write them, one Maildir per user. Opening takes a kernel lock so that one POP3
/// session at a time works on a mailbox; delivery never waits for it.
/// </summary>
public sealed partial class MaildirStore : IMailBackend, IMessageRetention
{
    // Maildir spec: a file in tmp/ untouched for 36 hours is left over from a failed delivery.
    private static readonly TimeSpan StaleTemporaryAge = TimeSpan.FromHours(36);

    // How often a mailbox's tmp/ is swept for leftovers: at every login would cost a directory
    // listing per session for files that appear once in a blue moon.
    private static readonly TimeSpan SweepInterval = TimeSpan.FromHours(1);

    // How long one login may spend reading messages to learn their sizes (names without ,W= that
    // the index does not know yet). Past it, the rest wait for a later login: a Maildir the user
    // filled with huge or sparse files must not hold a session, and its lock, for long.
    internal static readonly TimeSpan DefaultSizingBudget = TimeSpan.FromSeconds(20);

    private readonly ConcurrentDictionary<string, long> _lastSweep = new(StringComparer.Ordinal);
    private readonly MaildirIndex _index;
    private readonly string _pathTemplate;
    // The length of the template's leading directory that cannot depend on the user name.
    private readonly int _trustedLength;
    private readonly ILogger _logger;
    private readonly bool _fsync;
    private readonly TimeProvider _time;
    private readonly TimeSpan _sizingBudget;
    private readonly bool _retain;
    private readonly ImportedUidlFiles? _importedUidls;
    private readonly UidlGuard? _guard;
    // One fsync of new/ for the deliveries that finish their renames while another is in flight.
    private readonly GroupCommit _newFolderSync;

    /// <param name="pathTemplate">The Maildir of a user, with <c>%u</c> standing for the user name,
    /// e.g. <c>/srv/data/mail/%u</c> or <c>/var/vmail/%u/Maildir</c>.</param>
    /// <param name="logger">Where file-level failures are reported.</param>
    /// <param name="fsync">Whether to flush files and directories to disk before reporting
    /// success (delivery, expunge). Turn off only for tests or throw-away storage.</param>
    public MaildirStore(string pathTemplate, ILogger<MaildirStore>? logger = null, bool fsync = true)
        : this(pathTemplate, logger, fsync, TimeProvider.System)
    {
    }

    /// <param name="retentionDays">Retention:Days: above 0, deletions move messages into restante-retained/ (see <see cref="RetainedMessages"/>).</param>
    public MaildirStore(string pathTemplate, ILogger<MaildirStore>? logger, bool fsync, TimeProvider? time, int retentionDays)
        : this(pathTemplate, (ILogger?)logger, fsync, time ?? TimeProvider.System, sizingBudget: null, retentionDays: retentionDays)
    {
    }

    /// <param name="uidlSource">Where UIDLs come from: Restante's own, or what a previous server kept beside each Maildir.</param>
    /// <param name="guard">Told each time a mailbox is opened, so it can record whose UIDLs clients have seen; null for tools.</param>
    public MaildirStore(string pathTemplate, UidlSource uidlSource, UidlGuard? guard, ILogger<MaildirStore>? logger = null, bool fsync = true)
        : this(pathTemplate, logger, fsync, TimeProvider.System, uidlSource: uidlSource, guard: guard)
    {
    }

    internal MaildirStore(string pathTemplate, ILogger? logger, bool fsync, TimeProvider time, TimeSpan? sizingBudget = null, int retentionDays = 0,
        UidlSource? uidlSource = null, UidlGuard? guard = null, GroupCommit? newFolderSync = null, MaildirIndex? index = null)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(pathTemplate);
        // Said at startup rather than at the first login: see VerifiedMaildir.
        if (!OperatingSystem.IsLinux())
            throw new PlatformNotSupportedException("The Maildir store runs on Linux only: it relies on openat(2) and O_NOFOLLOW to keep a user's Maildir from leading elsewhere.");
        // Without %u every user would share one mailbox: refuse rather than mix mail.
        if (!pathTemplate.Contains("%u", StringComparison.Ordinal))
            throw new ArgumentException("The Maildir path template must contain %u (the user name).", nameof(pathTemplate));
        _pathTemplate = pathTemplate;
        // "/home/%u/Maildir": "/home" is the administrator's; "alice" and "Maildir" may be alice's.
        var lastSlash = pathTemplate.LastIndexOf('/', pathTemplate.IndexOf("%u", StringComparison.Ordinal));
        _trustedLength = lastSlash < 0 ? 0 : Math.Max(lastSlash, 1);
        _logger = logger ?? NullLogger.Instance;
        _fsync = fsync;
        _time = time;
        _sizingBudget = sizingBudget ?? DefaultSizingBudget;
        _retain = retentionDays > 0;
        UidlSource = uidlSource ?? UidlSource.Native;
        _importedUidls = UidlSource.Kind == UidlSourceKind.Native ? null : new ImportedUidlFiles(UidlSource, _logger);
        _guard = guard;
        _newFolderSync = newFolderSync ?? new GroupCommit();
        _index = index ?? new MaildirIndex();
    }

    /// <summary>The Maildir index, for tests.</summary>
    internal MaildirIndex Index => _index;

    /// <summary>Where this store's UIDLs come from.</summary>
    public UidlSource UidlSource { get; }

    /// <summary>The Maildir directory of <paramref name="user"/>. Throws (Permanent) for a name that could leave the tree.</summary>
    internal string GetMaildirPath(string user)
    {
        ArgumentNullException.ThrowIfNull(user);
        // The name becomes one path component: '/' would add components, "." and ".." would
        // climb, NUL would truncate the path in the kernel, and "" would name the parent.
        if (user.Length == 0 || user is "." or ".." || user.AsSpan().IndexOfAny('/', '\0') >= 0)
            throw new MailStoreException(MailStoreErrorKind.Permanent, $"User name '{user.Replace("\0", "\\0", StringComparison.Ordinal)}' cannot name a Maildir.");
        return _pathTemplate.Replace("%u", user, StringComparison.Ordinal);
    }

    public async ValueTask<IMaildrop> OpenAsync(string user, CancellationToken cancellationToken)
    {
        cancellationToken.ThrowIfCancellationRequested();
        var path = GetMaildirPath(user);
        VerifiedMaildir? maildir = null;
        MaildirLock? held = null;
        try
        {
            // new/ and cur/ are checked by the index's reading of their stamps under the lock (one statx each).
            maildir = VerifiedMaildir.Open(path, _trustedLength, create: true, checkByStamp: true);
            held = MaildirLock.TryAcquire(maildir)
                ?? throw new MailStoreException(MailStoreErrorKind.InUse, $"{path} is locked by another session.");
            SweepNow(maildir);
            // Under the lock, so no other session of ours changes the Maildir while we look.
            var listing = await _index.OpenAsync(maildir, _logger, _fsync, _sizingBudget, _time, cancellationToken,
                reopen: () => VerifiedMaildir.Open(path, _trustedLength, create: false)).ConfigureAwait(false);
            // After the index: the previous server's file may change while the folders do not.
            IReadOnlyList<StoredMessage> messages = _importedUidls is null
                ? new ListingMessages(listing)
                : UidlAssignment.Apply(MaildirMaildrop.EntriesOf(listing), MaildirMaildrop.MessagesOf(listing), _importedUidls.Read(maildir), _logger, path, UidlSource.FileName!);
            var maildrop = new MaildirMaildrop(maildir, listing, messages, held, _logger, _fsync, PolicyStateFile.ReadWhenNeeded(maildir), _retain ? _time : null);
            // Until its next command the session holds only the root (locked) and its socket: see VerifiedMaildir.
            maildir.CloseFolders();
            held = null;
            maildir = null;
            _guard?.NoteServed();
            return maildrop;
        }
        catch (RefusedMaildirException ex)
        {
            MaildirLog.Refused(_logger, ex.Maildir, ex.Reason);
            throw new MailStoreException(MailStoreErrorKind.Permanent, ex.Message, ex);
        }
        catch (IOException ex)
        {
            throw new MailStoreException(MailStoreErrorKind.Transient, $"Cannot open {path}: {ex.Message}", ex);
        }
        catch (UnauthorizedAccessException ex)
        {
            throw new MailStoreException(MailStoreErrorKind.Permanent, $"Cannot open {path}: {ex.Message}", ex);
        }
        finally
        {
            held?.Dispose();
            maildir?.Dispose();
        }
    }

    /// <summary>
    /// Lists the Maildir as a login would, without its lock and without writing anything: not the
    /// size index, not tmp/ cleanup, not even the Maildir when it does not exist yet. Files a live
    /// session expunges meanwhile are simply left out.
    /// </summary>
    public async ValueTask<IReadOnlyList<StoredMessage>> ListAsync(string user, CancellationToken cancellationToken)
    {
        cancellationToken.ThrowIfCancellationRequested();
        var path = GetMaildirPath(user);
        try
        {
            using var maildir = VerifiedMaildir.Open(path, _trustedLength, create: false);
            var taken = await Snapshot.TakeAsync(maildir, MaildirListing.Empty, listNew: true, listCur: true, unsaved: 0,
                _logger, _fsync, _sizingBudget, _time, cancellationToken, writeIndex: false).ConfigureAwait(false);
            var messages = MaildirMaildrop.MessagesOf(taken.Listing);
            // The same UIDLs a login serves: the previous server's, where the configuration says so.
            return _importedUidls is null ? messages
                : UidlAssignment.Apply(MaildirMaildrop.EntriesOf(taken.Listing), messages, _importedUidls.Read(maildir), _logger, path, UidlSource.FileName!);
        }
        catch (DirectoryNotFoundException)
        {
            return [];
        }
        catch (RefusedMaildirException ex)
        {
            MaildirLog.Refused(_logger, ex.Maildir, ex.Reason);
            throw new MailStoreException(MailStoreErrorKind.Permanent, ex.Message, ex);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            throw new MailStoreException(MailStoreErrorKind.Transient, $"Cannot list {path}: {ex.Message}", ex);
        }
    }

    public async ValueTask<string> DeliverAsync(string user, Stream message, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(message);
        var path = GetMaildirPath(user);
        VerifiedMaildir? maildir = null;
        (SafeFileHandle Folder, string Name)? leftover = null;
        try
        {
            maildir = VerifiedMaildir.Open(path, _trustedLength, create: true, openTmp: true);
            var name = DeliveryName.Create(_time);
            leftover = (maildir.Tmp, name);
            var (length, wireForm) = await WriteTemporaryAsync(maildir, name, message, cancellationToken).ConfigureAwait(false);

            // Maildir: the rename from tmp/ to new/ is the moment of delivery, so a reader sees
            // the whole message or nothing. S= and W= let readers size it without reading it;
            // stored with CRLF line ends, the two are equal. P= marks a file in POP3 wire form
            // (see WireForm). Both folders are the ones verified above: a tmp/ or new/ swapped
            // for a symlink since cannot send the message anywhere else.
            var finalName = WireForm.Name(name, length, wireForm);
            Posix.RenameAt(maildir.Tmp, name, maildir.New, finalName, replace: false, Path.Join(path, "new", finalName));
            leftover = (maildir.New, finalName);
            // The rename is durable only once new/ itself is synced: by an fsync that started after
            // it, shared with the deliveries that renamed into the same new/ meanwhile (GroupCommit).
            if (_fsync) await _newFolderSync.SyncAsync(maildir.New, Path.Join(path, "new")).ConfigureAwait(false);
            leftover = null;
            // Recorded in the index, so the next login need not list new/ to find it (see MaildirIndex.RecordDelivery).
            _index.RecordDelivery(path, maildir.New, finalName, length);
            MaildirLog.Delivered(_logger, path, finalName);
            return MaildirName.ToUid(MaildirName.Base(finalName).ToString());
        }
        catch (RefusedMaildirException ex)
        {
            // Temporary, not permanent: the sending MTA keeps the message while an administrator
            // looks at the Maildir, rather than bouncing mail because of a planted symlink.
            MaildirLog.Refused(_logger, ex.Maildir, ex.Reason);
            throw new MailStoreException(MailStoreErrorKind.Transient, ex.Message, ex);
        }
        catch (Exception ex) when (ex is not OperationCanceledException and not MailStoreException)
        {
            MaildirLog.DeliveryFailed(_logger, path, ex);
            throw new MailStoreException(MailStoreErrorKind.Transient, $"Delivery into {path} failed: {ex.Message}", ex);
        }
        finally
        {
            // A message that is not known to be durable is withdrawn, so the sender's retry
            // cannot produce a duplicate; it never stays half-written either way.
            if (leftover is { } file) _ = Posix.UnlinkAt(file.Folder, file.Name);
            maildir?.Dispose();
        }
    }

    /// <summary>The octets stored in new/ and cur/, from the S= in the names (see <see cref="Usage"/>).</summary>
    public ValueTask<long> GetUsageAsync(string user, CancellationToken cancellationToken)
    {
        cancellationToken.ThrowIfCancellationRequested();
        var path = GetMaildirPath(user);
        try
        {
            using var maildir = VerifiedMaildir.Open(path, _trustedLength, create: false);
            return ValueTask.FromResult(Usage.Measure(maildir));
        }
        catch (DirectoryNotFoundException)
        {
            // No Maildir yet (or not all of it): nothing stored.
            return ValueTask.FromResult(0L);
        }
        catch (RefusedMaildirException ex)
        {
            MaildirLog.Refused(_logger, ex.Maildir, ex.Reason);
            throw new MailStoreException(MailStoreErrorKind.Transient, ex.Message, ex);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            throw new MailStoreException(MailStoreErrorKind.Transient, $"Cannot measure {path}: {ex.Message}", ex);
        }
    }

    /// <summary>
    /// Writes the message into a new file in tmp/: O_EXCL|O_NOFOLLOW, mode 0600, never through a planted name. Line ends
    /// are stored as CRLF (as Dovecot's mail_save_crlf does), so the length is also the POP3 size; whether the result is
    /// in POP3 wire form comes back with it (see <see cref="WireFormConverter"/>).
    /// </summary>
    private async Task<(long Length, bool WireForm)> WriteTemporaryAsync(VerifiedMaildir maildir, string name, Stream message, CancellationToken cancellationToken)
    {
        const int ChunkSize = 64 * 1024;
        var errno = Posix.TryCreateExclusiveAt(maildir.Tmp, name, out var handle);
        if (errno != 0) throw Posix.ErrnoException("open", Path.Join(maildir.Path, "tmp", name), errno);
        var buffer = ArrayPool<byte>.Shared.Rent(ChunkSize);
        var converted = ArrayPool<byte>.Shared.Rent(2 * ChunkSize);
        try
        {
            var file = new FileStream(handle!, FileAccess.Write, bufferSize: 0);
            await using (file.ConfigureAwait(false))
            {
                var converter = new WireFormConverter();
                int read;
                while ((read = await message.ReadAsync(buffer.AsMemory(0, ChunkSize), cancellationToken).ConfigureAwait(false)) > 0)
                {
                    var n = converter.Convert(buffer.AsSpan(0, read), converted);
                    await file.WriteAsync(converted.AsMemory(0, n), cancellationToken).ConfigureAwait(false);
                }
                var end = converter.Complete().ToArray();
                if (end.Length > 0) await file.WriteAsync(end, cancellationToken).ConfigureAwait(false);
                // Read-only for the owner too: the mode is the wire-form mark WireForm trusts, not the name. A user who can rename
                // files in the Maildir cannot chmod a file the server owns, so no other delivery can be made to pass for one.
                if (converter.IsWireForm && converter.Length > 0 && !OperatingSystem.IsWindows()) File.SetUnixFileMode(handle!, UnixFileMode.UserRead);
                if (_fsync) file.Flush(flushToDisk: true);
                return (converter.Length, converter.IsWireForm);
            }
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
            ArrayPool<byte>.Shared.Return(converted);
        }
    }

    private void SweepNow(VerifiedMaildir maildir)
    {
        var now = _time.GetTimestamp();
        if (_lastSweep.TryGetValue(maildir.Path, out var last) && _time.GetElapsedTime(last, now) < SweepInterval) return;
        _lastSweep[maildir.Path] = now;
        RemoveStaleTemporaryFiles(maildir);
    }

    /// <summary>
    /// Removes regular files in tmp/ untouched for 36 hours. Only in the tmp/ verified at login
    /// (unlinkat on its descriptor), and never a symlink's target: a tmp/ pointed elsewhere was
    /// refused before we got here.
    /// </summary>
    private void RemoveStaleTemporaryFiles(VerifiedMaildir maildir)
    {
        var tmp = Path.Join(maildir.Path, "tmp");
        var cutoff = _time.GetUtcNow().UtcDateTime - StaleTemporaryAge;
        try
        {
            foreach (var entry in Posix.ReadDirectory(maildir.Tmp, tmp))
            {
                if (entry.KindKnown && entry.Kind != Posix.FileKind.Regular) continue;
                if (Posix.TryStatAt(maildir.Tmp, entry.Name, out var status) != 0 || status.Kind != Posix.FileKind.Regular) continue;
                if (status.LastWriteUtc >= cutoff) continue;
                if (Posix.UnlinkAt(maildir.Tmp, entry.Name) == 0) MaildirLog.StaleTmpRemoved(_logger, LogText.Of(Path.Join(tmp, entry.Name), LogText.PathLimit));
            }
        }
        catch (IOException ex)
        {
            MaildirLog.TmpCleanupFailed(_logger, tmp, ex);
        }
        catch (UnauthorizedAccessException ex)
        {
            MaildirLog.TmpCleanupFailed(_logger, tmp, ex);
        }
    }
}
