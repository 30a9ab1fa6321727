using Restante.Protocol;

namespace Restante.Pop3.Commands;

/// <summary>RFC 1939 §7 UIDL [msg]: unique-id listings "n uid", deleted messages left out.</summary>
internal sealed class UidlCommand : IPop3Command
{
    public Pop3Verb Verb => Pop3Verb.Uidl;

    public ValueTask<CommandOutcome> ExecuteAsync(Pop3Session session, ReadOnlyMemory<byte> arguments, CancellationToken cancellationToken)
        => MessageListing.WriteAsync(session, arguments, "Unique-ID listing follows",
            static (output, drop, i) => drop.WriteUidLine(output, i));
}
