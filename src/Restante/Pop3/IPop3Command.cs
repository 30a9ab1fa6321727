using Restante.Protocol;

namespace Restante.Pop3;

/// <summary>One POP3 command. Commands write their replies to the session's output and never flush.</summary>
internal interface IPop3Command
{
    Pop3Verb Verb { get; }

    /// <summary>
    /// Runs the command. <paramref name="arguments"/> is the text after the keyword, already
    /// copied out of the input buffer, so a command may await.
    /// </summary>
    ValueTask<CommandOutcome> ExecuteAsync(Pop3Session session, ReadOnlyMemory<byte> arguments, CancellationToken cancellationToken);
}
