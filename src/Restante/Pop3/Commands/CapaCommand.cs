using Restante.Protocol;

namespace Restante.Pop3.Commands;

/// <summary>RFC 2449 §5 CAPA.</summary>
internal sealed class CapaCommand : IPop3Command
{
    public Pop3Verb Verb => Pop3Verb.Capa;

    public ValueTask<CommandOutcome> ExecuteAsync(Pop3Session session, ReadOnlyMemory<byte> arguments, CancellationToken cancellationToken)
    {
        if (!arguments.IsEmpty) return ValueTask.FromResult(session.Reject("CAPA takes no arguments."));
        session.Server.Capabilities.Write(session);
        return ValueTask.FromResult(CommandOutcome.Continue);
    }
}
