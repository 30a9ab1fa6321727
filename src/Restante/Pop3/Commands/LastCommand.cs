using Restante.Protocol;

namespace Restante.Pop3.Commands;

/// <summary>
/// RFC 1460 LAST (dropped from RFC 1725 on): the highest message number accessed, so an old client can take the
/// messages above it as new. "Accessed" is RETR or DELE in this session, starting from the highest message the store
/// already has flagged seen (a Maildir message in cur/ with S, which MarkSeenOnQuit leaves behind); TOP does not
/// count, and RSET goes back to the starting value. Offered only to sessions a quirk profile enables it for; others
/// get the answer to an unknown command.
/// <code>
/// C: LAST
/// S: +OK 2
/// </code>
/// </summary>
internal sealed class LastCommand : IPop3Command
{
    public Pop3Verb Verb => Pop3Verb.Last;

    public ValueTask<CommandOutcome> ExecuteAsync(Pop3Session session, ReadOnlyMemory<byte> arguments, CancellationToken cancellationToken)
    {
        if (!session.Quirks.Last) return ValueTask.FromResult(session.Reject("Unknown command."));
        if (!arguments.IsEmpty) return ValueTask.FromResult(session.Reject("LAST takes no arguments."));
        Pop3Reply.Ok(session.Output, session.Transaction!.HighestAccessed.ToString(System.Globalization.CultureInfo.InvariantCulture));
        return ValueTask.FromResult(CommandOutcome.Continue);
    }
}
