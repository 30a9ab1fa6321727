using Restante.Protocol;

namespace Restante.Pop3.Commands;

/// <summary>
/// RFC 2595 §4 STLS. The +OK is flushed before the handshake; the session loop then does the
/// upgrade (<see cref="CommandOutcome.StartTls"/>) and drops anything pipelined behind STLS.
/// StateTable already refuses it after login; here: refused when TLS is already on (a second STLS,
/// or STLS on a POP3S connection) and when no certificate is configured.
/// </summary>
internal sealed class StlsCommand : IPop3Command
{
    public Pop3Verb Verb => Pop3Verb.Stls;

    public ValueTask<CommandOutcome> ExecuteAsync(Pop3Session session, ReadOnlyMemory<byte> arguments, CancellationToken cancellationToken)
    {
        if (!arguments.IsEmpty) return ValueTask.FromResult(session.Reject("STLS takes no arguments."));
        // RFC 6856 §2.1: "Clients MUST NOT issue the STLS command after issuing UTF8; servers MAY ... enforce this".
        if (session.Utf8Mode) return ValueTask.FromResult(session.Reject("STLS is not allowed after UTF8."));
        if (session.IsSecure) return ValueTask.FromResult(session.Reject("TLS is already active."));
        if (session.Server.Certificates is null) return ValueTask.FromResult(session.Reject("TLS support isn't enabled."));
        if (session.Server.Hooks is { } hooks && !hooks.AllowStartTls(session))
        {
            session.SetEndReason("closed on STLS by a hook");
            return ValueTask.FromResult(CommandOutcome.Close);
        }
        session.WriteOk("Begin TLS negotiation now.");
        return ValueTask.FromResult(CommandOutcome.StartTls);
    }
}
