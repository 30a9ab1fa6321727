using Microsoft.Extensions.Logging;

namespace Restante.Storage.Maildir;

/// <summary>Log lines of the Maildir index: the listing file, the background sizing of a first listing and the re-check of a folder once it settled.</summary>
internal static partial class MaildirLog
{
    [LoggerMessage(330, LogLevel.Warning, "Listing file of {Maildir} was not used ({Reason}); the folders are listed and the file rewritten", EventName = "MaildirListingFileRefused")]
    public static partial void ListingFileRefused(ILogger logger, string maildir, string reason);

    [LoggerMessage(331, LogLevel.Warning, "Could not write the listing file of {Maildir}; a restart lists its folders again", EventName = "MaildirListingFileNotWritten")]
    public static partial void ListingFileNotWritten(ILogger logger, string maildir, Exception exception);

    [LoggerMessage(332, LogLevel.Warning, "Sizing the messages of {Maildir} in the background failed; the next login starts again", EventName = "MaildirBackgroundSizingFailed")]
    public static partial void BackgroundSizingFailed(ILogger logger, string maildir, Exception exception);

    [LoggerMessage(333, LogLevel.Warning, "Listing {Maildir} again in the background once it settled failed; the next login lists it", EventName = "MaildirRecheckFailed")]
    public static partial void RecheckFailed(ILogger logger, string maildir, Exception exception);
}
