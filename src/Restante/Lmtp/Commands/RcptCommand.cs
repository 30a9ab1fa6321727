using Restante.Auth;
using Restante.Delivery;
using Restante.Networking;
using Restante.Protocol;

namespace Restante.Lmtp.Commands;

/// <summary>
/// RCPT TO:&lt;forward-path&gt; (RFC 5321 §4.1.1.3). Only local users of local domains are
/// accepted; everything else is refused here, so nothing is ever relayed. A user already over
/// quota is refused here too (552 5.2.2), before the data is sent.
/// </summary>
internal sealed class RcptCommand : ISmtpCommand
{
    public SmtpVerb Verb => SmtpVerb.Rcpt;

    public async ValueTask<LineOutcome> ExecuteAsync(LmtpSession session, ReadOnlyMemory<byte> arguments, CancellationToken cancellationToken)
    {
        var transaction = session.Transaction!;
        if (!MailPath.TryParse(arguments.Span, "TO:"u8, out var address, out var parameters, out var error))
            return await session.RejectAsync(new SmtpReply(501, "5.5.4", error)).ConfigureAwait(false);
        if (address.Length == 0)
            return await session.RejectAsync(new SmtpReply(501, "5.1.3", "The null path is not a recipient")).ConfigureAwait(false);
        if (!parameters.IsEmpty)
        {
            var key = MailCommand.NextParameter(ref parameters);
            return await session.RejectAsync(new SmtpReply(555, "5.5.4", $"Unsupported parameter {PrintableText.From(key)}")).ConfigureAwait(false);
        }
        // RFC 5321 §4.5.3.1.10: too many recipients is a temporary failure; the client sends the rest later.
        if (transaction.Recipients.Count >= session.Server.Limits.MaxRecipients)
            return await session.RejectAsync(new SmtpReply(452, "4.5.3", "Too many recipients")).ConfigureAwait(false);

        RecipientLookup lookup;
        try
        {
            lookup = await session.Server.Delivery.FindRecipientAsync(address, transaction.DeclaredSize, cancellationToken).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is PasswdFileException or IOException or UnauthorizedAccessException)
        {
            LmtpLog.UserLookupFailed(session.Logger, ex, LogText.Address(address));
            return await session.RejectAsync(new SmtpReply(451, "4.3.0", $"<{address}> Temporary lookup failure, try again later")).ConfigureAwait(false);
        }

        var reply = DeliveryReplies.ForRecipient(lookup.Status, address);
        if (lookup.Status != DeliveryStatus.Delivered)
        {
            LmtpLog.RecipientRefused(session.Logger, LogText.Address(address), $"{reply.Code} {reply.Enhanced}");
            return await session.RejectAsync(reply).ConfigureAwait(false);
        }
        transaction.Recipients.Add(lookup.Recipient!);
        session.Reply(reply);
        return LineOutcome.Continue;
    }
}
