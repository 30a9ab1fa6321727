using Restante.Protocol;

namespace Restante.Pop3.Commands;

/// <summary>RFC 2595 STLS. Refused while no certificate is configured; CAPA does not announce it then.</summary>
internal sealed class StlsCommand : IPop3Command
{
    public Pop3Verb Verb => Pop3Verb.Stls;

    public ValueTask<CommandOutcome> ExecuteAsync(Pop3Session session, ReadOnlyMemory<byte> arguments, CancellationToken cancellationToken)
        => ValueTask.FromResult(session.Reject("TLS is not available."));
}
