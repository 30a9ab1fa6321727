using Restante.Protocol;

namespace Restante.Pop3.Commands;

/// <summary>RFC 1939 §7 APOP name digest, the digest being MD5 over the greeting's timestamp and the secret.</summary>
internal sealed class ApopCommand : IPop3Command
{
    public Pop3Verb Verb => Pop3Verb.Apop;

    public async ValueTask<CommandOutcome> ExecuteAsync(Pop3Session session, ReadOnlyMemory<byte> arguments, CancellationToken cancellationToken)
    {
        // RFC 1939 §7: APOP needs the greeting's timestamp; without one the server does not offer it. Not a failed
        // login: no credential was checked.
        if (session.Timestamp is not { } timestamp)
            return session.Reject("APOP is not available on this server.");
        var rest = arguments.Span;
        var nameBytes = CommandParser.NextArgument(ref rest);
        var digestBytes = CommandParser.NextArgument(ref rest);
        if (nameBytes.IsEmpty || digestBytes.IsEmpty || !rest.IsEmpty)
            return session.Reject("APOP needs a user name and a digest.");
        if (!PrintableText.TryDecodeAscii(nameBytes, out var name) || !PrintableText.TryDecodeAscii(digestBytes, out var digest))
            return await session.FailLoginAsync(PrintableText.From(nameBytes), "APOP", cancellationToken).ConfigureAwait(false);

        var record = await session.Server.Authenticator.AuthenticateApopAsync(name, timestamp, digest, cancellationToken).ConfigureAwait(false);
        if (record is null)
            return await session.FailLoginAsync(name, "APOP", cancellationToken).ConfigureAwait(false);
        return await session.EnterTransactionAsync(record.Name, "APOP", cancellationToken, record).ConfigureAwait(false);
    }
}
