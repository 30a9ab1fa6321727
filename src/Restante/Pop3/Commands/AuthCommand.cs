using Restante.Protocol;

namespace Restante.Pop3.Commands;

/// <summary>RFC 5034 AUTH. No SASL mechanism is offered yet, so every request is refused and CAPA announces none.</summary>
internal sealed class AuthCommand : IPop3Command
{
    public Pop3Verb Verb => Pop3Verb.Auth;

    public ValueTask<CommandOutcome> ExecuteAsync(Pop3Session session, ReadOnlyMemory<byte> arguments, CancellationToken cancellationToken)
        => ValueTask.FromResult(session.Reject("No SASL mechanisms are available."));
}
