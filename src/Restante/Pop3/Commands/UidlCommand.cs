using System.Buffers;
using Restante.Protocol;

namespace Restante.Pop3.Commands;

/// <summary>RFC 1939 §7 UIDL [msg]: unique-id listings "n uid", deleted messages left out.</summary>
internal sealed class UidlCommand : IPop3Command
{
    public Pop3Verb Verb => Pop3Verb.Uidl;

    public async ValueTask<CommandOutcome> ExecuteAsync(Pop3Session session, ReadOnlyMemory<byte> arguments, CancellationToken cancellationToken)
    {
        var drop = session.Transaction!;
        var output = session.Output;
        if (!arguments.IsEmpty)
        {
            if (!MessageArgument.TryGetLive(session, arguments, out var index)) return CommandOutcome.Continue;
            output.Write("+OK "u8);
            Pop3Reply.NumberedLine(output, index + 1, drop.Messages[index].Uid);
            return CommandOutcome.Continue;
        }

        Pop3Reply.Ok(output, "Unique-ID listing follows");
        for (var i = 0; i < drop.Count; i++)
        {
            if (drop.IsDeleted(i)) continue;
            Pop3Reply.NumberedLine(output, i + 1, drop.Messages[i].Uid);
            if (output.UnflushedBytes > 64 * 1024 && !await session.FlushAsync().ConfigureAwait(false))
                return CommandOutcome.Close;
        }
        Pop3Reply.End(output);
        return CommandOutcome.Continue;
    }
}
