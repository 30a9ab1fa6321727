using System.Net;
using Microsoft.Extensions.Logging;

namespace Restante.Lmtp;

/// <summary>
/// Every log line the LMTP/SMTP sessions write, with stable event ids. Never message content. Addresses
/// and command arguments are client text: callers pass them through LogText; replies are logged as
/// their codes only, because their text repeats the client's address.
/// </summary>
internal static partial class LmtpLog
{
    [LoggerMessage(400, LogLevel.Debug, "{Protocol} session {SessionId} connected from {Peer}", EventName = "LmtpConnected")]
    public static partial void Connected(ILogger logger, DeliveryDialect protocol, long sessionId, EndPoint? peer);

    [LoggerMessage(401, LogLevel.Debug, "{Command} {Arguments} -> {Reply}", EventName = "LmtpCommand")]
    public static partial void Command(ILogger logger, string command, string arguments, int reply);

    [LoggerMessage(402, LogLevel.Debug, "{Protocol} session {SessionId} ended: {Reason}; {Transactions} messages received", EventName = "LmtpEnded")]
    public static partial void Ended(ILogger logger, DeliveryDialect protocol, long sessionId, string reason, int transactions);

    // An exception nothing expected is a bug to look at, not a client misbehaving.
    [LoggerMessage(403, LogLevel.Error, "{Protocol} session {SessionId} failed", EventName = "LmtpSessionFailed")]
    public static partial void SessionFailed(ILogger logger, Exception exception, DeliveryDialect protocol, long sessionId);

    [LoggerMessage(404, LogLevel.Information, "{QueueId}: message from <{Sender}> refused: {Reason} ({Size} octets received)", EventName = "LmtpDataRefused")]
    public static partial void DataRefused(ILogger logger, string queueId, string sender, DataProblem reason, long size);

    [LoggerMessage(405, LogLevel.Information, "Message from <{Sender}> abandoned mid-DATA after {Size} octets: {Reason}", EventName = "LmtpDataAbandoned")]
    public static partial void DataAbandoned(ILogger logger, string sender, long size, string reason);

    [LoggerMessage(406, LogLevel.Information, "Recipient <{Recipient}> refused: {Reply}", EventName = "LmtpRecipientRefused")]
    public static partial void RecipientRefused(ILogger logger, string recipient, string reply);

    [LoggerMessage(407, LogLevel.Error, "Cannot create a spool file", EventName = "LmtpSpoolFailed")]
    public static partial void SpoolFailed(ILogger logger, Exception exception);

    [LoggerMessage(408, LogLevel.Error, "Looking up recipient <{Recipient}> failed", EventName = "LmtpUserLookupFailed")]
    public static partial void UserLookupFailed(ILogger logger, Exception exception, string recipient);

    [LoggerMessage(409, LogLevel.Warning, "{QueueId}: SMTP cannot report per recipient; <{Recipient}> failed with {Reply} while others were delivered", EventName = "SmtpPartialFailure")]
    public static partial void PartialFailure(ILogger logger, string queueId, string recipient, string reply);

    // Only the length: what a client sends as a command we do not know is not ours to repeat.
    [LoggerMessage(410, LogLevel.Debug, "Unknown command ({Octets} octets) -> {Reply}", EventName = "LmtpUnknownCommand")]
    public static partial void UnknownCommand(ILogger logger, int octets, int reply);
}
