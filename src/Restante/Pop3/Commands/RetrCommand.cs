using Restante.Protocol;

namespace Restante.Pop3.Commands;

/// <summary>RFC 1939 §5 RETR msg.</summary>
internal sealed class RetrCommand : IPop3Command
{
    public Pop3Verb Verb => Pop3Verb.Retr;

    public ValueTask<CommandOutcome> ExecuteAsync(Pop3Session session, ReadOnlyMemory<byte> arguments, CancellationToken cancellationToken)
    {
        if (!MessageArgument.TryGetLive(session, arguments, out var index))
            return ValueTask.FromResult(CommandOutcome.Continue);
        var size = session.Transaction!.SizeOf(index);
        return MessageSender.SendAsync(session, index, $"{size} octets", bodyLineLimit: null, cancellationToken);
    }
}
