using Restante.Protocol;

namespace Restante.Pop3.Commands;

/// <summary>RFC 1939 §5 DELE msg: only marks; QUIT removes.</summary>
internal sealed class DeleCommand : IPop3Command
{
    public Pop3Verb Verb => Pop3Verb.Dele;

    public ValueTask<CommandOutcome> ExecuteAsync(Pop3Session session, ReadOnlyMemory<byte> arguments, CancellationToken cancellationToken)
    {
        if (MessageArgument.TryGetLive(session, arguments, out var index))
        {
            session.Transaction!.MarkDeleted(index);
            session.Transaction.NoteAccessed(index);
            session.WriteOk("Marked to be deleted.");
        }
        return ValueTask.FromResult(CommandOutcome.Continue);
    }
}
