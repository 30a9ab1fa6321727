using Microsoft.Extensions.Logging;

namespace Restante.Storage.Mbox;

internal static partial class MboxLog
{
    [LoggerMessage(380, LogLevel.Debug, "Opened {Spool}: {Count} messages, {Length} octets", EventName = "MboxOpened")]
    public static partial void Opened(ILogger logger, string spool, int count, long length);

    [LoggerMessage(381, LogLevel.Warning, "Refused the spool {Spool}: {Reason}", EventName = "MboxRefused")]
    public static partial void Refused(ILogger logger, string spool, string reason);

    [LoggerMessage(382, LogLevel.Warning, "Finished a rewrite of {Spool} that was interrupted (journal {Journal})", EventName = "MboxRecovered")]
    public static partial void Recovered(ILogger logger, string spool, string journal);

    [LoggerMessage(383, LogLevel.Information, "Removed {Count} messages from {Spool}", EventName = "MboxExpunged")]
    public static partial void Expunged(ILogger logger, string spool, int count);

    [LoggerMessage(384, LogLevel.Error, "Delivery into {Spool} failed; the spool was cut back to where it was", EventName = "MboxDeliveryFailed")]
    public static partial void DeliveryFailed(ILogger logger, string spool, Exception exception);
}
