using Restante.Networking;
using Restante.Protocol;

namespace Restante.Lmtp.Commands;

/// <summary>NOOP (RFC 5321 §4.1.1.9): arguments are allowed and ignored.</summary>
internal sealed class NoopCommand : ISmtpCommand
{
    public SmtpVerb Verb => SmtpVerb.Noop;

    public ValueTask<LineOutcome> ExecuteAsync(LmtpSession session, ReadOnlyMemory<byte> arguments, CancellationToken cancellationToken)
    {
        session.Reply(new SmtpReply(250, "2.0.0", "Ok"));
        return ValueTask.FromResult(LineOutcome.Continue);
    }
}
