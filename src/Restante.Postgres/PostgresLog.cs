using Microsoft.Extensions.Logging;

namespace Restante.Postgres;

internal static partial class PostgresLog
{
    [LoggerMessage(600, LogLevel.Warning, "Lease of mailbox {MailboxId} (token {Token}) was lost; the session's QUIT will delete nothing", EventName = "PostgresLeaseLost")]
    public static partial void LeaseLost(ILogger logger, long mailboxId, long token);

    [LoggerMessage(601, LogLevel.Warning, "Could not renew {Count} mailbox leases; retrying", EventName = "PostgresLeaseRenewalFailed")]
    public static partial void RenewalFailed(ILogger logger, int count, Exception exception);

    [LoggerMessage(602, LogLevel.Warning, "Could not release the lease of mailbox {MailboxId}; it expires by itself", EventName = "PostgresLeaseReleaseFailed")]
    public static partial void ReleaseFailed(ILogger logger, long mailboxId, Exception exception);

    [LoggerMessage(603, LogLevel.Information, "Removed {Count} message bodies no message refers to", EventName = "PostgresBodiesCollected")]
    public static partial void BodiesCollected(ILogger logger, int count);

    [LoggerMessage(604, LogLevel.Warning, "Could not collect unreferenced message bodies; trying again later", EventName = "PostgresBodyCollectionFailed")]
    public static partial void BodyCollectionFailed(ILogger logger, Exception exception);

    [LoggerMessage(605, LogLevel.Debug, "Delivered to {User} as uid {Uid} ({Octets} octets)", EventName = "PostgresDelivered")]
    public static partial void Delivered(ILogger logger, string user, string uid, long octets);

    [LoggerMessage(606, LogLevel.Warning, "Could not check the database's schema version at start (database unreachable); starting anyway", EventName = "PostgresSchemaCheckSkipped")]
    public static partial void SchemaCheckSkipped(ILogger logger, Exception exception);
}
