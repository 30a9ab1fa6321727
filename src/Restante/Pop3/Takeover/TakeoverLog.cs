using System.Net;
using Microsoft.Extensions.Logging;

namespace Restante.Pop3.Takeover;

internal static partial class TakeoverLog
{
    [LoggerMessage(130, LogLevel.Warning, "Mailbox of {User}: session {SessionId} from {Peer} was silent for {Silence}; ending it without applying its deletions so the login from {NewPeer} can proceed", EventName = "SessionTakenOver")]
    public static partial void TakenOver(ILogger logger, string user, long sessionId, EndPoint? peer, TimeSpan silence, EndPoint? newPeer);

    [LoggerMessage(131, LogLevel.Warning, "Mailbox of {User}: session {SessionId} was taken over but did not release the mailbox within {Wait}", EventName = "TakeoverStalled")]
    public static partial void Stalled(ILogger logger, string user, long sessionId, TimeSpan wait);
}
