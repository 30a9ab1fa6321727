using Restante.Protocol;

namespace Restante.Pop3.Commands;

/// <summary>RFC 1939 §5 NOOP.</summary>
internal sealed class NoopCommand : IPop3Command
{
    public Pop3Verb Verb => Pop3Verb.Noop;

    public ValueTask<CommandOutcome> ExecuteAsync(Pop3Session session, ReadOnlyMemory<byte> arguments, CancellationToken cancellationToken)
    {
        if (!arguments.IsEmpty) return ValueTask.FromResult(session.Reject("NOOP takes no arguments."));
        Pop3Reply.Ok(session.Output, string.Empty);
        return ValueTask.FromResult(CommandOutcome.Continue);
    }
}
