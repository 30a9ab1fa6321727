using System.Buffers;
using System.Collections.Concurrent;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Restante.Protocol;

namespace Restante.Storage.Maildir;

/// <summary>
/// Mailboxes in Maildir format (<c>new/</c>, <c>cur/</c>, <c>tmp/</c>), as Postfix, Exim and
/// Dovecot write them, one Maildir per user. Opening takes a kernel lock so that one POP3
/// session at a time works on a mailbox; delivery never waits for it.
/// </summary>
public sealed class MaildirStore : IMailBackend
{
    // Maildir spec: a file in tmp/ untouched for 36 hours is left over from a failed delivery.
    private static readonly TimeSpan StaleTemporaryAge = TimeSpan.FromHours(36);

    // How often a mailbox's tmp/ is swept for leftovers: at every login would cost a directory
    // listing per session for files that appear once in a blue moon.
    private static readonly TimeSpan SweepInterval = TimeSpan.FromHours(1);

    private readonly ConcurrentDictionary<string, long> _lastSweep = new(StringComparer.Ordinal);
    private readonly ListingCache _listings = new();
    private readonly string _pathTemplate;
    private readonly ILogger _logger;
    private readonly bool _fsync;
    private readonly TimeProvider _time;

    /// <param name="pathTemplate">The Maildir of a user, with <c>%u</c> standing for the user name,
    /// e.g. <c>/srv/data/mail/%u</c> or <c>/var/vmail/%u/Maildir</c>.</param>
    /// <param name="logger">Where file-level failures are reported.</param>
    /// <param name="fsync">Whether to flush files and directories to disk before reporting
    /// success (delivery, expunge). Turn off only for tests or throw-away storage.</param>
    public MaildirStore(string pathTemplate, ILogger<MaildirStore>? logger = null, bool fsync = true)
        : this(pathTemplate, logger, fsync, TimeProvider.System)
    {
    }

    internal MaildirStore(string pathTemplate, ILogger? logger, bool fsync, TimeProvider time)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(pathTemplate);
        // Without %u every user would share one mailbox: refuse rather than mix mail.
        if (!pathTemplate.Contains("%u", StringComparison.Ordinal))
            throw new ArgumentException("The Maildir path template must contain %u (the user name).", nameof(pathTemplate));
        _pathTemplate = pathTemplate;
        _logger = logger ?? NullLogger.Instance;
        _fsync = fsync;
        _time = time;
    }

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
        var maildir = GetMaildirPath(user);
        MaildirLock? held = null;
        try
        {
            held = AcquireLock(maildir)
                ?? throw new MailStoreException(MailStoreErrorKind.InUse, $"{maildir} is locked by another session.");
            SweepNow(maildir);
            // Under the lock, so no other session of ours changes the Maildir while we look.
            var stamp = ListingCache.Stamp.Read(maildir, _time);
            if (!_listings.TryGet(maildir, stamp, out var entries, out var messages))
            {
                entries = await Snapshot.TakeAsync(maildir, _logger, _fsync, cancellationToken).ConfigureAwait(false);
                messages = MaildirMaildrop.MessagesOf(entries);
                _listings.Store(maildir, stamp, entries, messages);
            }
            var maildrop = new MaildirMaildrop(maildir, entries, messages, held, _logger, _fsync);
            held = null;
            return maildrop;
        }
        catch (IOException ex)
        {
            throw new MailStoreException(MailStoreErrorKind.Transient, $"Cannot open {maildir}: {ex.Message}", ex);
        }
        catch (UnauthorizedAccessException ex)
        {
            throw new MailStoreException(MailStoreErrorKind.Permanent, $"Cannot open {maildir}: {ex.Message}", ex);
        }
        finally
        {
            held?.Dispose();
        }
    }

    public async ValueTask<string> DeliverAsync(string user, Stream message, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(message);
        var maildir = GetMaildirPath(user);
        string? leftover = null;
        try
        {
            CreateMaildir(maildir);
            var name = DeliveryName.Create(_time);
            var temporary = Path.Combine(maildir, "tmp", name);
            leftover = temporary;
            var (length, octets) = await WriteTemporaryAsync(temporary, message, cancellationToken).ConfigureAwait(false);

            // Maildir: the rename from tmp/ to new/ is the moment of delivery, so a reader sees
            // the whole message or nothing. S= and W= let readers size it without reading it.
            var finalName = string.Create(System.Globalization.CultureInfo.InvariantCulture, $"{name},S={length},W={octets}");
            var final = Path.Combine(maildir, "new", finalName);
            File.Move(temporary, final, overwrite: false);
            leftover = final;
            // The rename is durable only once new/ itself is synced.
            if (_fsync) SyncDirectory(Path.Combine(maildir, "new"));
            leftover = null;
            MaildirLog.Delivered(_logger, maildir, finalName);
            return MaildirName.ToUid(MaildirName.Base(finalName).ToString());
        }
        catch (Exception ex) when (ex is not OperationCanceledException and not MailStoreException)
        {
            MaildirLog.DeliveryFailed(_logger, maildir, ex);
            throw new MailStoreException(MailStoreErrorKind.Transient, $"Delivery into {maildir} failed: {ex.Message}", ex);
        }
        finally
        {
            // A message that is not known to be durable is withdrawn, so the sender's retry
            // cannot produce a duplicate; it never stays half-written either way.
            if (leftover is not null) TryDelete(leftover);
        }
    }

    /// <summary>The octets stored in new/ and cur/, from the S= in the names (see <see cref="Usage"/>).</summary>
    public ValueTask<long> GetUsageAsync(string user, CancellationToken cancellationToken)
    {
        cancellationToken.ThrowIfCancellationRequested();
        var maildir = GetMaildirPath(user);
        try
        {
            return ValueTask.FromResult(Usage.Measure(maildir));
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            throw new MailStoreException(MailStoreErrorKind.Transient, $"Cannot measure {maildir}: {ex.Message}", ex);
        }
    }

    private async Task<(long Length, long Octets)> WriteTemporaryAsync(string path, Stream message, CancellationToken cancellationToken)
    {
        var options = PrivateFile.Options(FileMode.CreateNew, FileAccess.Write, FileShare.None);
        var buffer = ArrayPool<byte>.Shared.Rent(64 * 1024);
        try
        {
            var file = new FileStream(path, options);
            await using (file.ConfigureAwait(false))
            {
                var octets = new MessageOctets();
                long length = 0;
                int read;
                while ((read = await message.ReadAsync(buffer, cancellationToken).ConfigureAwait(false)) > 0)
                {
                    octets.Add(buffer.AsSpan(0, read));
                    length += read;
                    await file.WriteAsync(buffer.AsMemory(0, read), cancellationToken).ConfigureAwait(false);
                }
                if (_fsync) file.Flush(flushToDisk: true);
                return (length, octets.Total);
            }
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }

    /// <summary>Takes the session lock, creating the Maildir first only when it does not exist yet.</summary>
    private static MaildirLock? AcquireLock(string maildir)
    {
        try
        {
            return MaildirLock.TryAcquire(maildir);
        }
        catch (DirectoryNotFoundException)
        {
            CreateMaildir(maildir);
            return MaildirLock.TryAcquire(maildir);
        }
    }

    private void SweepNow(string maildir)
    {
        var now = _time.GetTimestamp();
        if (_lastSweep.TryGetValue(maildir, out var last) && _time.GetElapsedTime(last, now) < SweepInterval) return;
        _lastSweep[maildir] = now;
        RemoveStaleTemporaryFiles(maildir);
    }

    /// <summary>Creates the Maildir and its three folders (mode 0700) where missing.</summary>
    private static void CreateMaildir(string maildir)
    {
        foreach (var path in (ReadOnlySpan<string>)[maildir, Path.Combine(maildir, "tmp"), Path.Combine(maildir, "new"), Path.Combine(maildir, "cur")])
        {
            if (Directory.Exists(path)) continue;
            if (OperatingSystem.IsWindows()) Directory.CreateDirectory(path);
            else Directory.CreateDirectory(path, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        }
    }

    private void RemoveStaleTemporaryFiles(string maildir)
    {
        var tmp = Path.Combine(maildir, "tmp");
        var cutoff = _time.GetUtcNow().UtcDateTime - StaleTemporaryAge;
        try
        {
            foreach (var file in new DirectoryInfo(tmp).EnumerateFiles())
            {
                if (file.LastWriteTimeUtc >= cutoff) continue;
                file.Delete();
                MaildirLog.StaleTmpRemoved(_logger, file.FullName);
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

    internal static void SyncDirectory(string path)
    {
        // REVIEW: only Linux syncs directories; elsewhere (no server target yet) renames and
        // unlinks rely on the file system's own metadata journaling.
        if (Posix.IsLinux) Posix.FsyncDirectory(path);
    }

    private static void TryDelete(string path)
    {
        try
        {
            File.Delete(path);
        }
        catch (IOException)
        {
            // The delivery already failed and says so; a file left in tmp/ is cleaned after 36 hours.
        }
        catch (UnauthorizedAccessException)
        {
            // Same.
        }
    }
}
