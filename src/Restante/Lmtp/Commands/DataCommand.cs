using Restante.Delivery;
using Restante.Networking;
using Restante.Protocol;

namespace Restante.Lmtp.Commands;

/// <summary>
/// DATA (RFC 5321 §4.1.1.4): with at least one accepted recipient, opens a spool and answers 354;
/// the session then reads the message. RFC 2033 §4.2: without a successful RCPT, DATA fails with 503.
/// </summary>
internal sealed class DataCommand : ISmtpCommand
{
    public SmtpVerb Verb => SmtpVerb.Data;

    public ValueTask<LineOutcome> ExecuteAsync(LmtpSession session, ReadOnlyMemory<byte> arguments, CancellationToken cancellationToken)
    {
        if (!arguments.IsEmpty) return session.RejectAsync(new SmtpReply(501, "5.5.4", "DATA takes no arguments"));
        if (session.Transaction!.Recipients.Count == 0) return session.RejectAsync(new SmtpReply(503, "5.5.1", "No valid recipients"));

        MessageSpool spool;
        try
        {
            spool = MessageSpool.Create(session.Server.Delivery.Options.SpoolDirectory);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            LmtpLog.SpoolFailed(session.Logger, ex);
            return session.RejectAsync(new SmtpReply(452, "4.3.1", "Insufficient system storage, try again later"));
        }
        session.BeginData(spool);
        // RFC 5321 §4.2.1: 354 is intermediate and carries no enhanced code (RFC 2034 §3).
        session.Reply(new SmtpReply(354, "", "Start mail input; end with <CRLF>.<CRLF>"));
        return ValueTask.FromResult(LineOutcome.Continue);
    }
}
