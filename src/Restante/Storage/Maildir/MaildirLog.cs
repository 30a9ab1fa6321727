using Microsoft.Extensions.Logging;

namespace Restante.Storage.Maildir;

/// <summary>
/// Log lines of the Maildir store. A user may write to their own Maildir, so a file name in a path is
/// client text: callers pass such paths through LogText.
/// </summary>
internal static partial class MaildirLog
{
    [LoggerMessage(300, LogLevel.Debug, "Opened {Maildir}: {Count} messages, {Counted} sized by reading them", EventName = "MaildirOpened")]
    public static partial void Opened(ILogger logger, string maildir, int count, int counted);

    [LoggerMessage(301, LogLevel.Warning, "Size index of {Maildir} was damaged and is being rebuilt", EventName = "MaildirIndexDamaged")]
    public static partial void IndexDamaged(ILogger logger, string maildir);

    [LoggerMessage(302, LogLevel.Warning, "Could not write the size index of {Maildir}; sizes will be counted again next time", EventName = "MaildirIndexNotWritten")]
    public static partial void IndexNotWritten(ILogger logger, string maildir, Exception exception);

    [LoggerMessage(303, LogLevel.Warning, "Ignoring {Count} entries of {Maildir} that are not regular files (symlinks, devices, FIFOs), e.g. {Path}", EventName = "MaildirNotRegularFile")]
    public static partial void NotRegularFiles(ILogger logger, string maildir, int count, string path);

    [LoggerMessage(304, LogLevel.Error, "Could not remove {Path}", EventName = "MaildirUnlinkFailed")]
    public static partial void UnlinkFailed(ILogger logger, string path, Exception exception);

    [LoggerMessage(305, LogLevel.Error, "Could not sync directory {Path}; its removals may not be durable", EventName = "MaildirDirectorySyncFailed")]
    public static partial void DirectorySyncFailed(ILogger logger, string path, Exception exception);

    [LoggerMessage(306, LogLevel.Information, "Removed stale temporary file {Path}", EventName = "MaildirStaleTmpRemoved")]
    public static partial void StaleTmpRemoved(ILogger logger, string path);

    [LoggerMessage(307, LogLevel.Warning, "Could not clean {Path}", EventName = "MaildirTmpCleanupFailed")]
    public static partial void TmpCleanupFailed(ILogger logger, string path, Exception exception);

    [LoggerMessage(308, LogLevel.Debug, "Delivered {FileName} into {Maildir}", EventName = "MaildirDelivered")]
    public static partial void Delivered(ILogger logger, string maildir, string fileName);

    [LoggerMessage(309, LogLevel.Warning, "Delivery into {Maildir} failed", EventName = "MaildirDeliveryFailed")]
    public static partial void DeliveryFailed(ILogger logger, string maildir, Exception exception);

    [LoggerMessage(310, LogLevel.Error, "Refusing {Maildir}: {Reason}; a symlink or special file where the Maildir needs a directory or a regular file is not followed", EventName = "MaildirRefused")]
    public static partial void Refused(ILogger logger, string maildir, string reason);

    [LoggerMessage(311, LogLevel.Warning, "Sizing the messages of {Maildir} took longer than {Budget}; {Count} are left out of this session and sized at a later login", EventName = "MaildirSizingBudgetSpent")]
    public static partial void SizingBudgetSpent(ILogger logger, string maildir, TimeSpan budget, int count);

    [LoggerMessage(312, LogLevel.Warning, "Could not purge the retained messages of {Maildir}", EventName = "MaildirPurgeFailed")]
    public static partial void PurgeFailed(ILogger logger, string maildir, Exception exception);
}
