using Restante.Protocol;

namespace Restante.Pop3.Commands;

/// <summary>
/// RFC 6856 §2.1 UTF8, in AUTHORIZATION only: from now on messages go out as stored, raw UTF-8 headers included
/// (RFC 6532). Without it, a message whose header holds raw UTF-8 is sent with that header downgraded to RFC 2047
/// encoded-words (see <c>Utf8/HeaderDowngrade</c>), since "character strings outside the ASCII repertoire MUST NOT be
/// sent to the client as is". After UTF8, STLS is refused (§2.1: clients MUST NOT send it, servers MAY enforce).
/// <code>
/// C: UTF8
/// S: +OK UTF-8 mode enabled.
/// </code>
/// </summary>
internal sealed class Utf8Command : IPop3Command
{
    public Pop3Verb Verb => Pop3Verb.Utf8;

    public ValueTask<CommandOutcome> ExecuteAsync(Pop3Session session, ReadOnlyMemory<byte> arguments, CancellationToken cancellationToken)
    {
        if (!arguments.IsEmpty) return ValueTask.FromResult(session.Reject("UTF8 takes no arguments."));
        session.Utf8Mode = true;
        session.WriteOk("UTF-8 mode enabled.");
        return ValueTask.FromResult(CommandOutcome.Continue);
    }
}
