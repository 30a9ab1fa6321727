using Restante.Networking;
using Restante.Protocol;

namespace Restante.Lmtp.Commands;

/// <summary>
/// VRFY (RFC 5321 §3.5.3): 252 neither confirms nor denies, so the command cannot be used to list
/// users; RCPT is where an address is checked.
/// </summary>
internal sealed class VrfyCommand : ISmtpCommand
{
    public SmtpVerb Verb => SmtpVerb.Vrfy;

    public ValueTask<LineOutcome> ExecuteAsync(LmtpSession session, ReadOnlyMemory<byte> arguments, CancellationToken cancellationToken)
    {
        session.Reply(new SmtpReply(252, "2.5.0", "Cannot VRFY user, but will accept message and attempt delivery"));
        return ValueTask.FromResult(LineOutcome.Continue);
    }
}
