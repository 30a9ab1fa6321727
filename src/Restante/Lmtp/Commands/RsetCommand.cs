using Restante.Networking;
using Restante.Protocol;

namespace Restante.Lmtp.Commands;

/// <summary>RSET (RFC 5321 §4.1.1.5): drops the transaction, keeps the greeting.</summary>
internal sealed class RsetCommand : ISmtpCommand
{
    public SmtpVerb Verb => SmtpVerb.Rset;

    public ValueTask<LineOutcome> ExecuteAsync(LmtpSession session, ReadOnlyMemory<byte> arguments, CancellationToken cancellationToken)
    {
        session.ResetTransaction();
        session.Reply(new SmtpReply(250, "2.0.0", "Ok"));
        return ValueTask.FromResult(LineOutcome.Continue);
    }
}
