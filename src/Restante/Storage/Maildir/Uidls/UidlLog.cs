using Microsoft.Extensions.Logging;

namespace Restante.Storage.Maildir;

/// <summary>Log lines about UIDLs taken over from a previous server, and the UIDL guard.</summary>
internal static partial class UidlLog
{
    [LoggerMessage(320, LogLevel.Warning, "{Count} UIDLs in {File} of {Maildir} are not RFC 1939 unique-ids (1-70 characters from '!' to '~'), e.g. {Example}; those messages get Restante's own UIDL", EventName = "ImportedUidlInvalid")]
    public static partial void InvalidUidls(ILogger logger, int count, string file, string maildir, string example);

    [LoggerMessage(321, LogLevel.Warning, "{Count} UIDLs in {File} of {Maildir} are given to more than one message, e.g. {Example}; the first message in arrival order keeps it, the others get Restante's own UIDL", EventName = "ImportedUidlDuplicate")]
    public static partial void DuplicateUidls(ILogger logger, int count, string file, string maildir, string example);

    [LoggerMessage(322, LogLevel.Warning, "{Count} lines of {File} in {Maildir} could not be read and were skipped; their messages get Restante's own UIDL", EventName = "ImportedUidlDamagedLines")]
    public static partial void DamagedLines(ILogger logger, int count, string file, string maildir);

    [LoggerMessage(323, LogLevel.Error, "Cannot serve the UIDLs of {Maildir}: {Reason}; the mailbox is refused rather than served with UIDLs its clients would take for new mail", EventName = "ImportedUidlUnusable")]
    public static partial void Unusable(ILogger logger, string maildir, string reason);

    [LoggerMessage(324, LogLevel.Debug, "{Imported} of {Count} messages of {Maildir} keep the UIDL from {File}", EventName = "ImportedUidlAssigned")]
    public static partial void Assigned(ILogger logger, int imported, int count, string maildir, string file);

    [LoggerMessage(325, LogLevel.Warning, "UIDL source changed from '{Recorded}' to '{Configured}' (accepted with --accept-uidl-change): clients that leave mail on the server may download messages again", EventName = "UidlChangeAccepted")]
    public static partial void ChangeAccepted(ILogger logger, string recorded, string configured);

    [LoggerMessage(326, LogLevel.Error, "Could not record the UIDL source in {Path}", EventName = "UidlGuardNotWritten")]
    public static partial void GuardNotWritten(ILogger logger, string path, Exception exception);
}
