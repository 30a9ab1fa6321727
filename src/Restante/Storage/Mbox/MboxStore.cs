using System.Buffers;
using System.Globalization;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Win32.SafeHandles;
using Restante.Protocol;
using Restante.Storage.Maildir;

namespace Restante.Storage.Mbox;

/// <summary>
/// Mailboxes as mbox spools (<c>/var/mail/USER</c>), the layout qpopper and popa3d serve and
/// Postfix local(8) and procmail deliver into. The spool locks (dotlock and fcntl) are held only
/// while the spool is read at login, appended to, or rewritten at QUIT; one POP3 session at a time
/// is kept by a lock of our own in the state directory, which no MTA ever waits for.
/// </summary>
public sealed class MboxStore : IMailBackend
{
    internal static readonly TimeSpan DefaultLockTimeout = TimeSpan.FromSeconds(30);

    private readonly string _spoolTemplate;
    private readonly string _stateDirectory;
    private readonly MboxUidlSource _uidl;
    private readonly MboxVariant _variant;
    private readonly bool _dotlock;
    private readonly long _maxSpoolSize;
    private readonly ILogger _logger;
    private readonly bool _fsync;

    /// <param name="spoolTemplate">The spool of a user, <c>%u</c> for the user name: <c>/var/mail/%u</c>.</param>
    /// <param name="stateDirectory">The store's own files (UIDL side files, journals, session locks); not the spool directory.</param>
    public MboxStore(string spoolTemplate, string stateDirectory, MboxUidlSource uidl = MboxUidlSource.SideFile, MboxVariant variant = MboxVariant.Mboxrd,
        bool dotlock = true, long maxSpoolSize = 2L * 1024 * 1024 * 1024, ILogger<MboxStore>? logger = null, bool fsync = true)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(spoolTemplate);
        ArgumentException.ThrowIfNullOrWhiteSpace(stateDirectory);
        if (!OperatingSystem.IsLinux())
            throw new PlatformNotSupportedException("The mbox store runs on Linux only: it relies on O_NOFOLLOW and open-file-description fcntl locks.");
        // %u only in the last component: the spool's directory is the administrator's, shared by
        // every user, and the dotlock beside the spool is made in it.
        if (!spoolTemplate.Contains("%u", StringComparison.Ordinal) || Path.GetDirectoryName(spoolTemplate)!.Contains("%u", StringComparison.Ordinal))
            throw new ArgumentException("The mbox spool template must contain %u (the user name) in its last component, e.g. /var/mail/%u.", nameof(spoolTemplate));
        var spoolDirectory = Path.GetFullPath(Path.GetDirectoryName(spoolTemplate)!);
        if (string.Equals(spoolDirectory.TrimEnd('/'), Path.GetFullPath(stateDirectory).TrimEnd('/'), StringComparison.Ordinal))
            throw new ArgumentException("The mbox state directory must not be the spool directory.", nameof(stateDirectory));
        _spoolTemplate = spoolTemplate;
        _stateDirectory = stateDirectory;
        _uidl = uidl;
        _variant = variant;
        _dotlock = dotlock;
        _maxSpoolSize = maxSpoolSize;
        _logger = logger ?? NullLogger<MboxStore>.Instance;
        _fsync = fsync;
    }

    /// <summary>Fault injection for tests: called at named steps of a rewrite; a throw there acts as a crash.</summary>
    internal Action<string>? FaultHook { get; set; }

    /// <summary>How long to wait for another program's spool lock.</summary>
    internal TimeSpan LockTimeout { get; set; } = DefaultLockTimeout;

    internal MboxVariant Variant => _variant;

    /// <summary>Where one user's spool and state files are.</summary>
    internal sealed record Paths(string Spool, string SpoolDirectory, string SpoolName, string SideFile, string Journal, string SessionLock);

    internal Paths Resolve(string user)
    {
        ArgumentNullException.ThrowIfNull(user);
        // The name becomes one path component, as for the Maildir store.
        if (user.Length == 0 || user is "." or ".." || user.AsSpan().IndexOfAny('/', '\0') >= 0)
            throw new MailStoreException(MailStoreErrorKind.Permanent, $"User name '{user.Replace("\0", "\\0", StringComparison.Ordinal)}' cannot name a spool.");
        var spool = _spoolTemplate.Replace("%u", user, StringComparison.Ordinal);
        return new Paths(spool, Path.GetDirectoryName(spool)!, Path.GetFileName(spool),
            Path.Join(_stateDirectory, user + ".uidl"), Path.Join(_stateDirectory, user + ".journal"), Path.Join(_stateDirectory, user + ".pop3.lock"));
    }

    public async ValueTask<IMaildrop> OpenAsync(string user, CancellationToken cancellationToken)
    {
        var paths = Resolve(user);
        SafeFileHandle? session = null;
        SafeFileHandle? reader = null;
        try
        {
            session = TakeSessionLock(paths)
                ?? throw new MailStoreException(MailStoreErrorKind.InUse, $"{paths.Spool} is open in another session.");
            var errno = Posix.TryOpenTrustedDirectory(paths.SpoolDirectory, out var directory);
            if (errno == Posix.ENoEnt)
                return new MboxMaildrop(this, paths, session: Take(ref session), reader: null, [], []);
            if (errno != 0) throw Posix.ErrnoException("open", paths.SpoolDirectory, errno);
            using (directory)
            {
                if (Posix.TryStatAt(directory!, paths.SpoolName, out _) == Posix.ENoEnt && !File.Exists(paths.Journal))
                    return new MboxMaildrop(this, paths, Take(ref session), reader: null, [], []);
                using var locked = await LockSpoolAsync(directory!, paths, create: false, cancellationToken).ConfigureAwait(false);
                if (locked is null) return new MboxMaildrop(this, paths, Take(ref session), reader: null, [], []);
                var length = RandomAccess.GetLength(locked.Spool!);
                var messages = Read(locked.Spool!, length, paths, cancellationToken);
                var side = UidlSideFile.Load(paths.SideFile);
                var uidls = side.Assign(messages, adoptXUidl: _uidl == MboxUidlSource.XUidl && !side.Existed, out var changed);
                // Written before any UIDL is served, so the next session serves the same ones.
                if (changed || !side.Existed) side.Save(paths.SideFile, _fsync);
                // A second descriptor for the session's reads: closing it later leaves no lock
                // behind, and it keeps reading this inode whatever happens to the name.
                errno = Posix.TryOpenFileAt(directory!, paths.SpoolName, write: false, create: false, out reader);
                if (errno != 0) throw Posix.ErrnoException("open", paths.Spool, errno);
                MboxLog.Opened(_logger, paths.Spool, messages.Count, length);
                return new MboxMaildrop(this, paths, Take(ref session), Take(ref reader), messages, uidls);
            }
        }
        catch (RefusedSpoolException ex)
        {
            MboxLog.Refused(_logger, paths.Spool, ex.Message);
            throw new MailStoreException(MailStoreErrorKind.Permanent, $"{paths.Spool}: {ex.Message}", ex);
        }
        catch (IOException ex)
        {
            throw new MailStoreException(MailStoreErrorKind.Transient, $"Cannot open {paths.Spool}: {ex.Message}", ex);
        }
        catch (UnauthorizedAccessException ex)
        {
            throw new MailStoreException(MailStoreErrorKind.Permanent, $"Cannot open {paths.Spool}: {ex.Message}", ex);
        }
        finally
        {
            reader?.Dispose();
            session?.Dispose();
        }
    }

    /// <summary>
    /// The listing a login would see now, for `restante uidl`: read under the spool locks but not the
    /// session lock, so a live session is not disturbed. The side file is not written; messages it
    /// has not named yet get the UIDL the next login would give them (see <see cref="UidlSideFile.Assign"/>).
    /// </summary>
    public async ValueTask<IReadOnlyList<StoredMessage>> ListAsync(string user, CancellationToken cancellationToken)
    {
        var paths = Resolve(user);
        try
        {
            var errno = Posix.TryOpenTrustedDirectory(paths.SpoolDirectory, out var directory);
            if (errno == Posix.ENoEnt) return [];
            if (errno != 0) throw Posix.ErrnoException("open", paths.SpoolDirectory, errno);
            using (directory)
            {
                using var locked = await LockSpoolAsync(directory!, paths, create: false, cancellationToken).ConfigureAwait(false);
                if (locked is null) return [];
                var messages = Read(locked.Spool!, RandomAccess.GetLength(locked.Spool!), paths, cancellationToken);
                var side = UidlSideFile.Load(paths.SideFile);
                var uidls = side.Assign(messages, adoptXUidl: _uidl == MboxUidlSource.XUidl && !side.Existed, out _);
                var listing = new StoredMessage[messages.Count];
                for (var i = 0; i < listing.Length; i++) listing[i] = new StoredMessage(uidls[i], messages[i].Size);
                return listing;
            }
        }
        catch (RefusedSpoolException ex)
        {
            throw new MailStoreException(MailStoreErrorKind.Permanent, $"{paths.Spool}: {ex.Message}", ex);
        }
        catch (IOException ex)
        {
            throw new MailStoreException(MailStoreErrorKind.Transient, $"Cannot read {paths.Spool}: {ex.Message}", ex);
        }
    }

    private static T Take<T>(ref T? held) where T : class
    {
        var value = held!;
        held = null;
        return value;
    }

    /// <summary>The one-session-per-mailbox lock: flock on USER.pop3.lock in the state directory (see the Maildir store's lock).</summary>
    private SafeFileHandle? TakeSessionLock(Paths paths)
    {
        Directory.CreateDirectory(_stateDirectory);
        var errno = Posix.TryOpenTrustedDirectory(_stateDirectory, out var state);
        if (errno != 0) throw Posix.ErrnoException("open", _stateDirectory, errno);
        using (state)
        {
            var name = Path.GetFileName(paths.SessionLock);
            errno = Posix.TryOpenForLockingAt(state!, name, out var handle);
            if (errno != 0) throw Posix.ErrnoException("open", paths.SessionLock, errno);
            if (Posix.TryLockExclusive(handle!, paths.SessionLock)) return handle;
            handle!.Dispose();
            return null;
        }
    }

    /// <summary>
    /// Takes the spool locks, opening the spool for reading and writing, and finishes an
    /// interrupted rewrite first. Null when there is no spool and <paramref name="create"/> is false.
    /// </summary>
    internal async Task<SpoolLock?> LockSpoolAsync(SafeFileHandle directory, Paths paths, bool create, CancellationToken cancellationToken)
    {
        var locked = await SpoolLock.AcquireAsync(directory, paths.SpoolName, () =>
        {
            var errno = Posix.TryOpenFileAt(directory, paths.SpoolName, write: true, create: create, out var spool);
            if (errno == Posix.ENoEnt && !create) return null;
            if (errno == Posix.ELoop) throw new RefusedSpoolException("the spool is a symlink");
            if (errno == 21) throw new RefusedSpoolException("the spool is a directory");   // EISDIR
            if (errno != 0) throw Posix.ErrnoException("open", paths.Spool, errno);
            try
            {
                var status = Posix.Stat(spool!);
                if (status.Kind != Posix.FileKind.Regular) throw new RefusedSpoolException("the spool is not a regular file");
                SpoolFiles.MakeBlocking(spool!);
            }
            catch
            {
                spool!.Dispose();
                throw;
            }
            return spool!;
        }, exclusive: true, _dotlock, LockTimeout, paths.Spool, cancellationToken).ConfigureAwait(false);
        if (locked.Spool is null)
        {
            locked.Dispose();
            return null;
        }
        try
        {
            if (SpoolRewrite.RecoverIfNeeded(locked.Spool!, paths.Journal, paths.SideFile, _fsync))
                MboxLog.Recovered(_logger, paths.Spool, paths.Journal);
            return locked;
        }
        catch
        {
            locked.Dispose();
            throw;
        }
    }

    /// <summary>The messages of [0, <paramref name="length"/>) of a locked spool; refuses what is too large or not an mbox.</summary>
    internal List<SpoolMessage> Read(SafeFileHandle spool, long length, Paths paths, CancellationToken cancellationToken)
    {
        if (length > _maxSpoolSize)
            throw new RefusedSpoolException(string.Create(CultureInfo.InvariantCulture, $"the spool holds {length} octets, more than Mbox:MaxSpoolSize ({_maxSpoolSize})"));
        try
        {
            return SpoolScanner.Scan(spool, length, _variant, cancellationToken);
        }
        catch (SpoolScanner.MalformedSpoolException ex)
        {
            throw new RefusedSpoolException(ex.Message);
        }
    }

    /// <summary>
    /// Removes the snapshot's messages <paramref name="indexes"/> from the spool as it is now: the
    /// spool is read again under the lock, and messages are matched by identity, so mail that
    /// arrived since the login, and changes another mail reader made, are kept.
    /// </summary>
    internal async Task<int> ExpungeAsync(Paths paths, IReadOnlyList<SpoolMessage> snapshot, IReadOnlyList<string> uidls, IReadOnlyList<int> indexes, CancellationToken cancellationToken)
    {
        var gone = indexes.Distinct().Order().ToList();
        if (gone.Count == 0) return 0;
        try
        {
            var errno = Posix.TryOpenTrustedDirectory(paths.SpoolDirectory, out var directory);
            if (errno == Posix.ENoEnt) return gone.Count;
            if (errno != 0) throw Posix.ErrnoException("open", paths.SpoolDirectory, errno);
            using (directory)
            {
                using var locked = await LockSpoolAsync(directory!, paths, create: false, cancellationToken).ConfigureAwait(false);
                if (locked is null) return gone.Count;   // the spool is gone: so are its messages
                var length = RandomAccess.GetLength(locked.Spool!);
                var current = Read(locked.Spool!, length, paths, cancellationToken);
                // The n-th snapshot message of an identity is the n-th current one of that identity.
                var rank = new Dictionary<string, int>(StringComparer.Ordinal);
                var wanted = new HashSet<(string, int)>();
                var goneSet = gone.ToHashSet();
                for (var i = 0; i < snapshot.Count; i++)
                {
                    var r = rank[snapshot[i].Identity] = rank.GetValueOrDefault(snapshot[i].Identity) + 1;
                    if (goneSet.Contains(i)) wanted.Add((snapshot[i].Identity, r));
                }
                rank.Clear();
                var remove = new HashSet<int>();
                for (var i = 0; i < current.Count; i++)
                {
                    var r = rank[current[i].Identity] = rank.GetValueOrDefault(current[i].Identity) + 1;
                    if (wanted.Contains((current[i].Identity, r))) remove.Add(i);
                }
                if (remove.Count > 0)
                {
                    SpoolRewrite.Remove(locked.Spool!, length, current, remove, gone.Select(i => uidls[i]).ToList(),
                        paths.Journal, paths.SideFile, _fsync, FaultHook);
                    MboxLog.Expunged(_logger, paths.Spool, remove.Count);
                }
                // Messages another program removed meanwhile count as removed (IMaildrop.ExpungeAsync).
                return gone.Count;
            }
        }
        catch (RefusedSpoolException ex)
        {
            MboxLog.Refused(_logger, paths.Spool, ex.Message);
            throw new MailStoreException(MailStoreErrorKind.Permanent, $"{paths.Spool}: {ex.Message}", ex);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            throw new MailStoreException(MailStoreErrorKind.Transient, $"Cannot rewrite {paths.Spool}: {ex.Message}", ex);
        }
    }

    /// <summary>
    /// Appends one message under the spool locks: a <c>From </c> line, the message with
    /// <c>From </c> lines quoted, a line end if it lacked one, and the empty line that separates it
    /// from the next. On any failure the spool is cut back to its old length, as Postfix local(8) does.
    /// </summary>
    public async ValueTask<string> DeliverAsync(string user, Stream message, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(message);
        var paths = Resolve(user);
        try
        {
            Directory.CreateDirectory(paths.SpoolDirectory);
            Directory.CreateDirectory(_stateDirectory);
            var errno = Posix.TryOpenTrustedDirectory(paths.SpoolDirectory, out var directory);
            if (errno != 0) throw Posix.ErrnoException("open", paths.SpoolDirectory, errno);
            using (directory)
            {
                using var locked = (await LockSpoolAsync(directory!, paths, create: true, cancellationToken).ConfigureAwait(false))!;
                var spool = locked.Spool!;
                var oldLength = RandomAccess.GetLength(spool);
                try
                {
                    var (start, bodyStart, bodyEnd, next) = await AppendAsync(spool, oldLength, message, cancellationToken).ConfigureAwait(false);
                    if (_fsync) SpoolFiles.Fsync(spool, paths.Spool);
                    var buffer = ArrayPool<byte>.Shared.Rent(64 * 1024);
                    SpoolMessage appended;
                    try
                    {
                        appended = SpoolScanner.Describe(spool, start, bodyStart, bodyEnd, next, _variant, buffer);
                    }
                    finally
                    {
                        ArrayPool<byte>.Shared.Return(buffer);
                    }
                    var side = UidlSideFile.Load(paths.SideFile);
                    if (!side.Existed)
                    {
                        // The first time we see this spool: give every message its UIDL now, so
                        // the new one's is the one the first session will serve.
                        var all = Read(spool, next, paths, cancellationToken);
                        var uidls = side.Assign(all, adoptXUidl: false, out _);
                        side.Save(paths.SideFile, _fsync);
                        return uidls[^1];
                    }
                    var uidl = side.Append(appended.Identity);
                    side.Save(paths.SideFile, _fsync);
                    return uidl;
                }
                catch (Exception ex) when (ex is not MailStoreException)
                {
                    // Withdrawn whole: a half message would glue itself to the next delivery, and
                    // the sender retries what we did not confirm.
                    RandomAccess.SetLength(spool, oldLength);
                    MboxLog.DeliveryFailed(_logger, paths.Spool, ex);
                    throw;
                }
            }
        }
        catch (RefusedSpoolException ex)
        {
            MboxLog.Refused(_logger, paths.Spool, ex.Message);
            throw new MailStoreException(MailStoreErrorKind.Transient, $"{paths.Spool}: {ex.Message}", ex);
        }
        catch (Exception ex) when (ex is not OperationCanceledException and not MailStoreException)
        {
            throw new MailStoreException(MailStoreErrorKind.Transient, $"Delivery into {paths.Spool} failed: {ex.Message}", ex);
        }
    }

    private async Task<(long Start, long BodyStart, long BodyEnd, long Next)> AppendAsync(SafeFileHandle spool, long oldLength, Stream message, CancellationToken cancellationToken)
    {
        var position = oldLength;
        var output = new ArrayBufferWriter<byte>(80 * 1024);
        // The new From line must start a line that follows an empty one, whatever the last writer left.
        if (oldLength > 0)
        {
            var tail = new byte[2];
            var n = RandomAccess.Read(spool, tail.AsSpan(0, (int)Math.Min(2, oldLength)), oldLength - Math.Min(2, oldLength));
            var endsInLf = n >= 1 && tail[n - 1] == (byte)'\n';
            var endsInBlank = endsInLf && (oldLength == 1 || (n == 2 && tail[0] == (byte)'\n'));
            if (!endsInLf) output.Write("\n\n"u8);
            else if (!endsInBlank) output.Write("\n"u8);
        }
        var start = position + output.WrittenCount;
        // RFC 4155 §2: "From " sender, then the date as asctime(3) prints it. The envelope sender
        // does not reach the store, so the sender is MAILER-DAEMON, as Postfix writes for <>.
        var now = DateTime.UtcNow;
        output.Write(System.Text.Encoding.ASCII.GetBytes(string.Create(CultureInfo.InvariantCulture,
            $"From MAILER-DAEMON {now:ddd MMM} {now.Day,2} {now:HH:mm:ss yyyy}\n")));
        var bodyStart = position + output.WrittenCount;
        var quoter = FromQuoting.Quoter(_variant);
        var buffer = ArrayPool<byte>.Shared.Rent(64 * 1024);
        var last = (byte)'\n';
        var any = false;
        try
        {
            int read;
            while ((read = await message.ReadAsync(buffer.AsMemory(0, 64 * 1024), cancellationToken).ConfigureAwait(false)) > 0)
            {
                quoter.Transform(buffer.AsSpan(0, read), output);
                last = buffer[read - 1];
                any = true;
                if (output.WrittenCount >= 64 * 1024)
                {
                    RandomAccess.Write(spool, output.WrittenSpan, position);
                    position += output.WrittenCount;
                    output.ResetWrittenCount();
                }
            }
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
        quoter.Complete(output);
        // mbox keeps lines: a last line without a line end gets one (RFC 4155 §2).
        if (any && last != (byte)'\n') output.Write("\n"u8);
        var bodyEnd = position + output.WrittenCount;
        output.Write("\n"u8);
        RandomAccess.Write(spool, output.WrittenSpan, position);
        position += output.WrittenCount;
        return (start, bodyStart, bodyEnd, position);
    }

    /// <summary>The spool's length: what the user's mail takes on disk, From lines included.</summary>
    public ValueTask<long> GetUsageAsync(string user, CancellationToken cancellationToken)
    {
        var paths = Resolve(user);
        var errno = Posix.TryOpenTrustedDirectory(paths.SpoolDirectory, out var directory);
        if (errno == Posix.ENoEnt) return ValueTask.FromResult(0L);
        if (errno != 0) throw new MailStoreException(MailStoreErrorKind.Transient, $"Cannot measure {paths.Spool}: errno {errno}");
        using (directory)
        {
            errno = Posix.TryStatAt(directory!, paths.SpoolName, out var status);
            if (errno == Posix.ENoEnt) return ValueTask.FromResult(0L);
            if (errno != 0) throw new MailStoreException(MailStoreErrorKind.Transient, $"Cannot measure {paths.Spool}: errno {errno}");
            return ValueTask.FromResult(status.Kind == Posix.FileKind.Regular ? status.Length : 0L);
        }
    }
}

/// <summary>A spool that is refused rather than read: a symlink, not a regular file, too large, not an mbox.</summary>
internal sealed class RefusedSpoolException(string reason) : Exception(reason);
