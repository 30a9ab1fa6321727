using Restante.Protocol;

namespace Restante.Pop3.Commands;

/// <summary>RFC 1939 §7 USER name. The answer is +OK whether or not the user exists: no enumeration.</summary>
internal sealed class UserCommand : IPop3Command
{
    public Pop3Verb Verb => Pop3Verb.User;

    public ValueTask<CommandOutcome> ExecuteAsync(Pop3Session session, ReadOnlyMemory<byte> arguments, CancellationToken cancellationToken)
    {
        if (!session.PlaintextAllowed)
            return ValueTask.FromResult(session.RejectPlaintext());
        if (arguments.IsEmpty)
            return ValueTask.FromResult(session.Reject("USER needs a user name."));
        // RFC 6856 §2.2 (CAPA "UTF8 USER"): a UTF-8 name is accepted and prepared (Precis); one that is not UTF-8 is refused.
        if (arguments.Span.IndexOf((byte)' ') >= 0 || !Utf8Text.TryDecode(arguments.Span, allowControls: false, out var raw)
            || !Auth.Precis.TryPrepareUserName(raw, out var name, out _))
        {
            session.PendingUser = null;
            return ValueTask.FromResult(session.Reject("Invalid user name."));
        }
        session.PendingUser = name;
        session.WriteOk("Send your password.");
        return ValueTask.FromResult(CommandOutcome.Continue);
    }
}
