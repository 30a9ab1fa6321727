using Restante.Protocol;

namespace Restante.Pop3.Commands;

/// <summary>RFC 1939 §5 RSET: unmarks every message marked as deleted.</summary>
internal sealed class RsetCommand : IPop3Command
{
    public Pop3Verb Verb => Pop3Verb.Rset;

    public ValueTask<CommandOutcome> ExecuteAsync(Pop3Session session, ReadOnlyMemory<byte> arguments, CancellationToken cancellationToken)
    {
        if (!arguments.IsEmpty) return ValueTask.FromResult(session.Reject("RSET takes no arguments."));
        var drop = session.Transaction!;
        drop.UnmarkAll();
        session.WriteOk($"maildrop has {drop.LiveCount} messages ({drop.LiveSize} octets)");
        return ValueTask.FromResult(CommandOutcome.Continue);
    }
}
