using Restante.Protocol;

namespace Restante.Pop3.Commands;

/// <summary>RFC 1939 §5/§6 QUIT: in TRANSACTION it enters UPDATE; before login it just says goodbye.</summary>
internal sealed class QuitCommand : IPop3Command
{
    public Pop3Verb Verb => Pop3Verb.Quit;

    public ValueTask<CommandOutcome> ExecuteAsync(Pop3Session session, ReadOnlyMemory<byte> arguments, CancellationToken cancellationToken)
    {
        if (session.State == Pop3State.Transaction)
            return Pop3Update.RunAsync(session);
        session.SetEndReason("quit");
        session.WriteOk("Logging out.");
        return ValueTask.FromResult(CommandOutcome.Close);
    }
}
