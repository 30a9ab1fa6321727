using System.Buffers;
using System.Collections.Concurrent;
using System.Text;
using Microsoft.Extensions.Logging;
using Restante.Protocol;

namespace Restante.Storage.Maildir;

/// <summary>
/// Reads the configured previous server's UIDL file from a Maildir's root, through the root
/// descriptor verified at login: O_NOFOLLOW|O_NONBLOCK, an fstat check that it is a regular file,
/// and no more than <see cref="MaxLength"/> octets. Parsed files are kept per Maildir while their
/// size and modification time stay the same, so a large mailbox does not parse it at every login.
/// </summary>
internal sealed class ImportedUidlFiles
{
    // 100,000 messages make a dovecot-uidlist of about 6 MB; ten times that is no mailbox's.
    public const int MaxLength = 64 * 1024 * 1024;

    private readonly UidlSource _source;
    private readonly DovecotUidlFormat? _format;
    private readonly ILogger _logger;
    private readonly ConcurrentDictionary<string, Cached> _byMaildir = new(StringComparer.Ordinal);

    private sealed record Cached(long Length, DateTime LastWriteUtc, IImportedUidls Uidls);

    public ImportedUidlFiles(UidlSource source, ILogger logger)
    {
        _source = source;
        _logger = logger;
        if (source.Kind == UidlSourceKind.Dovecot)
            _format = DovecotUidlFormat.TryParse(source.DovecotFormat, out var format, out var error) ? format : throw new ArgumentException(error, nameof(source));
    }

    /// <summary>
    /// The file's UIDLs; null when there is no such file (a mailbox the previous server never saw).
    /// Throws <see cref="MailStoreException"/> (Permanent) when the file is there but cannot be used
    /// — a symlink, a special file, too large, a header no version of that server wrote — so the
    /// mailbox is refused rather than served with UIDLs its clients would take for new mail.
    /// </summary>
    public IImportedUidls? Read(VerifiedMaildir maildir)
    {
        var name = _source.FileName!;
        var errno = Posix.TryOpenReadAt(maildir.Root, name, out var handle);
        if (errno == Posix.ENoEnt) return null;
        if (errno == Posix.ELoop) throw Unusable(maildir, $"{name} is a symlink");
        if (errno != 0) throw Posix.ErrnoException("open", Path.Join(maildir.Path, name), errno);
        using (handle)
        {
            var status = Posix.Stat(handle!);
            if (status.Kind != Posix.FileKind.Regular) throw Unusable(maildir, $"{name} is not a regular file");
            if (status.Length > MaxLength) throw Unusable(maildir, $"{name} is larger than {MaxLength / (1024 * 1024)} MiB");
            if (_byMaildir.TryGetValue(maildir.Path, out var cached) && cached.Length == status.Length && cached.LastWriteUtc == status.LastWriteUtc)
                return cached.Uidls;

            var text = ReadText(handle!, (int)status.Length);
            IImportedUidls uidls;
            string error;
            switch (_source.Kind)
            {
                case UidlSourceKind.Dovecot:
                    if (!DovecotUidlist.TryParse(text, _format!, out var dovecot, out error)) throw Unusable(maildir, error);
                    uidls = dovecot;
                    break;
                case UidlSourceKind.Courier:
                    if (!CourierSizeList.TryParse(text, out var courier, out error)) throw Unusable(maildir, error);
                    uidls = courier;
                    break;
                default:
                    uidls = UidlMap.Parse(text);
                    break;
            }
            if (uidls.DamagedLines > 0) UidlLog.DamagedLines(_logger, uidls.DamagedLines, name, maildir.Path);
            _byMaildir[maildir.Path] = new Cached(status.Length, status.LastWriteUtc, uidls);
            return uidls;
        }
    }

    /// <summary>Reads at most <paramref name="length"/> octets (the size fstat gave): a file that grows meanwhile is cut there.</summary>
    private static string ReadText(Microsoft.Win32.SafeHandles.SafeFileHandle handle, int length)
    {
        var bytes = ArrayPool<byte>.Shared.Rent(Math.Max(length, 1));
        try
        {
            var read = 0;
            int n;
            while (read < length && (n = RandomAccess.Read(handle, bytes.AsSpan(read, length - read), read)) > 0) read += n;
            // Names that are not UTF-8 cannot match a listed file (the listing refuses them) anyway.
            return Encoding.UTF8.GetString(bytes, 0, read);
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(bytes);
        }
    }

    private MailStoreException Unusable(VerifiedMaildir maildir, string reason)
    {
        UidlLog.Unusable(_logger, maildir.Path, reason);
        return new MailStoreException(MailStoreErrorKind.Permanent, $"Cannot serve the UIDLs of {LogText.Of(maildir.Path, LogText.PathLimit)}: {reason}.");
    }
}
