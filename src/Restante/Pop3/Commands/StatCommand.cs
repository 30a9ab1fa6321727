using System.Buffers;
using Restante.Protocol;

namespace Restante.Pop3.Commands;

/// <summary>RFC 1939 §5 STAT: "+OK count octets", deleted messages left out.</summary>
internal sealed class StatCommand : IPop3Command
{
    public Pop3Verb Verb => Pop3Verb.Stat;

    public ValueTask<CommandOutcome> ExecuteAsync(Pop3Session session, ReadOnlyMemory<byte> arguments, CancellationToken cancellationToken)
    {
        if (!arguments.IsEmpty) return ValueTask.FromResult(session.Reject("STAT takes no arguments."));
        var drop = session.Transaction!;
        session.Output.Write("+OK "u8);
        Pop3Reply.NumberedLine(session.Output, drop.LiveCount, drop.LiveSize);
        return ValueTask.FromResult(CommandOutcome.Continue);
    }
}
