using Restante.Networking;
using Restante.Protocol;

namespace Restante.Lmtp.Commands;

/// <summary>QUIT (RFC 5321 §4.1.1.10): 221, then the server closes. An open transaction is dropped.</summary>
internal sealed class QuitCommand : ISmtpCommand
{
    public SmtpVerb Verb => SmtpVerb.Quit;

    public ValueTask<LineOutcome> ExecuteAsync(LmtpSession session, ReadOnlyMemory<byte> arguments, CancellationToken cancellationToken)
    {
        session.SetEndReason("quit");
        session.Reply(new SmtpReply(221, "2.0.0", "Bye"));
        return ValueTask.FromResult(LineOutcome.Close);
    }
}
