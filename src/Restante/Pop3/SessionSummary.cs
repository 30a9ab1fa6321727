using Restante.Networking;
using Restante.Protocol;

namespace Restante.Pop3;

/// <summary>The end of a POP3 session: the maildrop let go (nothing removed unless UPDATE ran), the metrics, one summary line.</summary>
internal static class SessionSummary
{
    public static async ValueTask EndAsync(Pop3Session session, string reason)
    {
        var server = session.Server;
        var deleted = 0;
        if (session.Transaction is { } transaction)
        {
            if (session.State == Pop3State.Update && reason == "quit") deleted = transaction.DeletedCount;
            await session.ReleaseMaildropAsync().ConfigureAwait(false);
        }
        var end = SessionEndReason.Classify(reason);
        server.Metrics.SessionEnded(end);
        // One summary line per session; the user and mechanism are escaped like any client text (LogText).
        Pop3Log.Ended(session.Logger, session.Id, reason, session.User is null ? "-" : LogText.Of(session.User), session.RemoteEndPoint,
            session.Mechanism ?? "-", TlsProtocolName.Of(session.TlsProtocol, session.IsSecure), session.RetrievedCount, deleted, session.BytesSent,
            (long)server.TimeProvider.GetElapsedTime(session.ConnectedAt).TotalMilliseconds, end);
        server.Hooks?.OnEnded(session, reason);
    }
}
