using Restante.Protocol;

namespace Restante.Pop3.Commands;

/// <summary>The message-number checks every command that takes one shares.</summary>
internal static class MessageArgument
{
    /// <summary>Parses a single message number naming a message that is not deleted; otherwise writes the -ERR.</summary>
    public static bool TryGetLive(Pop3Session session, ReadOnlyMemory<byte> arguments, out int index)
    {
        var rest = arguments.Span;
        if (!TryGetLive(session, ref rest, out index)) return false;
        if (!rest.IsEmpty)
        {
            session.Reject($"Noise after message number: {PrintableText.From(rest)}");
            return false;
        }
        return true;
    }

    /// <summary>Parses a leading message number and leaves the remaining arguments in <paramref name="rest"/>.</summary>
    public static bool TryGetLive(Pop3Session session, ref ReadOnlySpan<byte> rest, out int index)
    {
        var drop = session.Transaction!;
        if (!MessageNumber.TryParse(ref rest, drop.Count, out index, out var error))
        {
            session.Reject(error);
            return false;
        }
        if (drop.IsDeleted(index))
        {
            session.Reject("Message is deleted.");
            return false;
        }
        return true;
    }
}
