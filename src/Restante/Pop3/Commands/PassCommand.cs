using Restante.Protocol;

namespace Restante.Pop3.Commands;

/// <summary>RFC 1939 §7 PASS string. The whole rest of the line is the password, spaces included.</summary>
internal sealed class PassCommand : IPop3Command
{
    public Pop3Verb Verb => Pop3Verb.Pass;

    public async ValueTask<CommandOutcome> ExecuteAsync(Pop3Session session, ReadOnlyMemory<byte> arguments, CancellationToken cancellationToken)
    {
        if (!session.PlaintextAllowed)
            return session.RejectPlaintext();
        if (session.PendingUser is not { } user)
            return session.Reject("Send USER first.");
        if (arguments.IsEmpty)
            return await session.FailLoginAsync(user, "USER/PASS", cancellationToken).ConfigureAwait(false);

        // RFC 6856 §2.2: "The server MUST reject UTF-8 usernames or passwords that fail to comply with the formal syntax in UTF-8".
        if (!Utf8Text.TryDecode(arguments.Span, allowControls: true, out var password))
            return await session.FailLoginAsync(user, "USER/PASS", cancellationToken).ConfigureAwait(false);
        var record = await session.Server.Authenticator.AuthenticateAsync(user, password, cancellationToken).ConfigureAwait(false);
        if (record is null)
            return await session.FailLoginAsync(user, "USER/PASS", cancellationToken).ConfigureAwait(false);
        return await session.EnterTransactionAsync(record.Name, "USER/PASS", cancellationToken, record).ConfigureAwait(false);
    }
}
