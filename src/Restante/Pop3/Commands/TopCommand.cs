using Restante.Protocol;

namespace Restante.Pop3.Commands;

/// <summary>RFC 1939 §7 TOP msg n: the header, the blank line, and n lines of the body.</summary>
internal sealed class TopCommand : IPop3Command
{
    public Pop3Verb Verb => Pop3Verb.Top;

    public ValueTask<CommandOutcome> ExecuteAsync(Pop3Session session, ReadOnlyMemory<byte> arguments, CancellationToken cancellationToken)
    {
        var rest = arguments.Span;
        if (!MessageArgument.TryGetLive(session, ref rest, out var index))
            return ValueTask.FromResult(CommandOutcome.Continue);
        var countToken = CommandParser.NextArgument(ref rest);
        if (countToken.IsEmpty)
            return ValueTask.FromResult(session.Reject("TOP needs a message number and a line count."));
        if (!MessageNumber.TryParseCount(countToken, out var lines))
            return ValueTask.FromResult(session.Reject($"Invalid line count: {PrintableText.From(countToken)}"));
        if (!rest.IsEmpty)
            return ValueTask.FromResult(session.Reject($"Noise after line count: {PrintableText.From(rest)}"));
        return MessageSender.SendAsync(session, index, "Top of message follows", lines, cancellationToken);
    }
}
