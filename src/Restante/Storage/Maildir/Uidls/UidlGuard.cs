using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace Restante.Storage.Maildir;

/// <summary>
/// Keeps a configuration change from changing UIDLs clients have already seen. Once a mailbox has
/// been opened for a client, the UIDL source that served it (<see cref="UidlSource.Fingerprint"/>:
/// native, dovecot with its format, courier, map) is recorded in <c>DATA/uidl-source</c>. At the next
/// start a different configured source is refused with an explanation, unless the start is told to
/// accept the change (<c>--accept-uidl-change</c>), which then records the new source. Every client
/// that leaves mail on the server would otherwise take each message for a new one and download the
/// whole mailbox again.
/// </summary>
public sealed class UidlGuard
{
    public const string FileName = "uidl-source";

    private readonly string _path;
    private readonly string _fingerprint;
    private readonly ILogger _logger;
    private int _recorded;

    private UidlGuard(string path, string fingerprint, bool recorded, ILogger logger)
    {
        _path = path;
        _fingerprint = fingerprint;
        _recorded = recorded ? 1 : 0;
        _logger = logger;
    }

    /// <summary>The source recorded in <paramref name="dataDirectory"/>, or null when none was ever served.</summary>
    public static string? ReadRecorded(string dataDirectory)
    {
        var path = Path.Combine(dataDirectory, FileName);
        if (!File.Exists(path)) return null;
        foreach (var line in File.ReadLines(path))
        {
            var trimmed = line.Trim();
            if (trimmed.Length > 0 && trimmed[0] != '#') return trimmed;
        }
        return null;
    }

    /// <summary>
    /// Compares the configured source with the recorded one. Throws <see cref="InvalidOperationException"/>
    /// with the explanation when they differ and <paramref name="acceptChange"/> is false.
    /// </summary>
    public static UidlGuard Check(string dataDirectory, UidlSource configured, bool acceptChange, ILogger? logger = null)
    {
        ArgumentNullException.ThrowIfNull(configured);
        logger ??= NullLogger.Instance;
        var path = Path.Combine(Path.GetFullPath(dataDirectory), FileName);
        var recorded = ReadRecorded(dataDirectory);
        var fingerprint = configured.Fingerprint;
        if (recorded is null || recorded == fingerprint) return new UidlGuard(path, fingerprint, recorded is not null, logger);
        if (!acceptChange)
            throw new InvalidOperationException(
                $"the UIDLs clients have seen came from UidlSource '{recorded}' (recorded in {path}), but the configuration now says '{fingerprint}'. "
                + "Serving with it would change the UIDL of messages clients already know, and every client that leaves mail on the server "
                + "would download them all again. Put the previous UidlSource/DovecotUidlFormat back; or, if the change is meant "
                + "(no client has fetched through Restante yet, or you accept the downloads), start once with --accept-uidl-change "
                + "(configuration key AcceptUidlChange).");
        var guard = new UidlGuard(path, fingerprint, recorded: false, logger);
        UidlLog.ChangeAccepted(logger, recorded, fingerprint);
        guard.Record();
        return guard;
    }

    /// <summary>Called when a mailbox is opened for a client: from now on its UIDLs are known to someone.</summary>
    public void NoteServed()
    {
        if (Volatile.Read(ref _recorded) == 1) return;
        Record();
    }

    private void Record()
    {
        try
        {
            var temporary = $"{_path}.{Guid.NewGuid():N}.tmp";
            File.WriteAllText(temporary,
                "# Restante: the UIDL source whose UIDLs clients have seen (see the README, \"The UIDL guard\").\n"
                + "# A start with another UidlSource is refused unless given --accept-uidl-change.\n"
                + _fingerprint + "\n");
            File.Move(temporary, _path, overwrite: true);
            Volatile.Write(ref _recorded, 1);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            // Serving goes on; the next open tries again.
            UidlLog.GuardNotWritten(_logger, _path, ex);
        }
    }
}
