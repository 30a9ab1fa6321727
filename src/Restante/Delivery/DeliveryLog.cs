using Microsoft.Extensions.Logging;

namespace Restante.Delivery;

/// <summary>One line per delivered (or refused) copy. Envelope and sizes only, never message content.</summary>
internal static partial class DeliveryLog
{
    [LoggerMessage(500, LogLevel.Information, "{QueueId}: from=<{Sender}> to=<{Recipient}> user={User} size={Size} message-id={MessageId} status={Status} uid={Uid}", EventName = "Delivery")]
    public static partial void Delivery(ILogger logger, string queueId, string sender, string recipient, string user, long size, string messageId, DeliveryStatus status, string uid);

    [LoggerMessage(501, LogLevel.Warning, "Delivery to {User} failed", EventName = "DeliveryFailed")]
    public static partial void Failed(ILogger logger, Exception exception, string user);

    [LoggerMessage(502, LogLevel.Warning, "Ignoring the quota rule of {User}: {Problem}", EventName = "BadQuotaRule")]
    public static partial void BadQuotaRule(ILogger logger, string user, string problem);

    [LoggerMessage(503, LogLevel.Warning, "Cannot measure the mailbox of {User}; its quota is checked at delivery", EventName = "UsageUnknown")]
    public static partial void UsageUnknown(ILogger logger, Exception exception, string user);
}
