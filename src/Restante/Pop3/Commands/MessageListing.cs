using System.Buffers;
using Restante.Protocol;

namespace Restante.Pop3.Commands;

/// <summary>The shape LIST and UIDL share: one message, or a multi-line listing of every message not deleted.</summary>
internal static class MessageListing
{
    public static async ValueTask<CommandOutcome> WriteAsync(Pop3Session session, ReadOnlyMemory<byte> arguments, string heading,
        Action<IBufferWriter<byte>, TransactionMaildrop, int> writeEntry)
    {
        var drop = session.Transaction!;
        var output = session.Output;
        if (!arguments.IsEmpty)
        {
            if (!MessageArgument.TryGetLive(session, arguments, out var index)) return CommandOutcome.Continue;
            output.Write("+OK "u8);
            writeEntry(output, drop, index);
            return CommandOutcome.Continue;
        }

        Pop3Reply.Ok(output, heading);
        for (var i = 0; i < drop.Count; i++)
        {
            if (drop.IsDeleted(i)) continue;
            writeEntry(output, drop, i);
            // A listing of a huge mailbox goes out in pieces instead of piling up in memory.
            if (output.UnflushedBytes > 64 * 1024 && !await session.FlushAsync().ConfigureAwait(false))
                return CommandOutcome.Close;
        }
        Pop3Reply.End(output);
        return CommandOutcome.Continue;
    }
}
