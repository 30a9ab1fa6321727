using Restante.Protocol;

namespace Restante.Pop3.Commands;

/// <summary>RFC 1939 §5 LIST [msg]: scan listings "n size", deleted messages left out.</summary>
internal sealed class ListCommand : IPop3Command
{
    public Pop3Verb Verb => Pop3Verb.List;

    public ValueTask<CommandOutcome> ExecuteAsync(Pop3Session session, ReadOnlyMemory<byte> arguments, CancellationToken cancellationToken)
    {
        var drop = session.Transaction!;
        return MessageListing.WriteAsync(session, arguments, $"{drop.LiveCount} messages ({drop.LiveSize} octets)",
            session.Server.Hooks is { } hooks
                ? (output, drop, i) => Pop3Reply.NumberedLine(output, i + 1, hooks.ListedSize(session, i + 1, drop.SizeOf(i)))
                : static (output, drop, i) => Pop3Reply.NumberedLine(output, i + 1, drop.SizeOf(i)));
    }
}
