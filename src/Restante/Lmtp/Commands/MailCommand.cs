using System.Globalization;
using System.Text;
using Restante.Networking;
using Restante.Protocol;

namespace Restante.Lmtp.Commands;

/// <summary>
/// MAIL FROM:&lt;reverse-path&gt; [SIZE=n] [BODY=7BIT|8BITMIME] (RFC 5321 §4.1.1.2, RFC 1870 §6,
/// RFC 6152 §2). Starts a transaction.
/// </summary>
internal sealed class MailCommand : ISmtpCommand
{
    public SmtpVerb Verb => SmtpVerb.Mail;

    public ValueTask<LineOutcome> ExecuteAsync(LmtpSession session, ReadOnlyMemory<byte> arguments, CancellationToken cancellationToken)
    {
        if (!MailPath.TryParse(arguments.Span, "FROM:"u8, out var sender, out var parameters, out var error))
            return session.RejectAsync(new SmtpReply(501, "5.5.4", error));
        if (sender.Length > 0 && !MailPath.TrySplit(sender, out _, out _))
            return session.RejectAsync(new SmtpReply(501, "5.1.7", "Bad sender address syntax"));

        long declaredSize = 0;
        while (!parameters.IsEmpty)
        {
            var parameter = NextParameter(ref parameters);
            var equals = parameter.IndexOf((byte)'=');
            var key = equals < 0 ? parameter : parameter[..equals];
            var value = equals < 0 ? default : parameter[(equals + 1)..];
            if (Ascii.EqualsIgnoreCase(key, "SIZE"u8))
            {
                if (!long.TryParse(value, NumberStyles.None, CultureInfo.InvariantCulture, out declaredSize))
                    return session.RejectAsync(new SmtpReply(501, "5.5.4", "Bad SIZE value"));
                // RFC 1870 §6.1: refuse at once when the declared size is over the fixed maximum.
                var max = session.Server.Delivery.Options.MaxMessageSize;
                if (max > 0 && declaredSize > max) return session.RejectAsync(DeliveryReplies.TooBig);
            }
            else if (Ascii.EqualsIgnoreCase(key, "BODY"u8))
            {
                // RFC 6152 §2: 7BIT or 8BITMIME; both are stored as received.
                if (!Ascii.EqualsIgnoreCase(value, "7BIT"u8) && !Ascii.EqualsIgnoreCase(value, "8BITMIME"u8))
                    return session.RejectAsync(new SmtpReply(501, "5.5.4", "BODY must be 7BIT or 8BITMIME"));
            }
            else
            {
                // RFC 5321 §4.1.1.11: a parameter we do not know.
                return session.RejectAsync(new SmtpReply(555, "5.5.4", $"Unsupported parameter {PrintableText.From(key)}"));
            }
        }

        session.StartTransaction(sender, declaredSize);
        session.Reply(new SmtpReply(250, "2.1.0", $"<{sender}> Sender ok"));
        return ValueTask.FromResult(LineOutcome.Continue);
    }

    internal static ReadOnlySpan<byte> NextParameter(ref ReadOnlySpan<byte> parameters)
    {
        var space = parameters.IndexOf((byte)' ');
        var first = space < 0 ? parameters : parameters[..space];
        parameters = space < 0 ? default : parameters[(space + 1)..].TrimStart((byte)' ');
        return first;
    }
}
