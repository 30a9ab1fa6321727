using System.Buffers;
using Restante.Protocol;

namespace Restante.Pop3.Commands;

/// <summary>RFC 1939 §5 LIST [msg]: scan listings "n size", deleted messages left out.</summary>
internal sealed class ListCommand : IPop3Command
{
    public Pop3Verb Verb => Pop3Verb.List;

    public async ValueTask<CommandOutcome> ExecuteAsync(Pop3Session session, ReadOnlyMemory<byte> arguments, CancellationToken cancellationToken)
    {
        var drop = session.Transaction!;
        var output = session.Output;
        if (!arguments.IsEmpty)
        {
            if (!MessageArgument.TryGetLive(session, arguments, out var index)) return CommandOutcome.Continue;
            output.Write("+OK "u8);
            Pop3Reply.NumberedLine(output, index + 1, drop.Messages[index].Size);
            return CommandOutcome.Continue;
        }

        Pop3Reply.Ok(output, $"{drop.LiveCount} messages ({drop.LiveSize} octets)");
        for (var i = 0; i < drop.Count; i++)
        {
            if (drop.IsDeleted(i)) continue;
            Pop3Reply.NumberedLine(output, i + 1, drop.Messages[i].Size);
            // A listing of a huge mailbox goes out in pieces instead of piling up in memory.
            if (output.UnflushedBytes > 64 * 1024 && !await session.FlushAsync().ConfigureAwait(false))
                return CommandOutcome.Close;
        }
        Pop3Reply.End(output);
        return CommandOutcome.Continue;
    }
}
