using Restante.Delivery;
using Restante.Protocol;

namespace Restante.Lmtp;

/// <summary>Delivery outcomes as replies, in one place: RFC 5321 §4.2 codes with RFC 3463 enhanced codes.</summary>
internal static class DeliveryReplies
{
    public static SmtpReply ForRecipient(DeliveryStatus status, string address) => status switch
    {
        DeliveryStatus.Delivered => new SmtpReply(250, "2.1.5", $"<{address}> Recipient ok"),
        DeliveryStatus.BadAddress => new SmtpReply(501, "5.1.3", $"<{address}> Bad recipient address syntax"),
        // Never relay: the domain is not ours, and this server delivers only locally.
        DeliveryStatus.ForeignDomain => new SmtpReply(550, "5.7.1", $"<{address}> Relay access denied"),
        DeliveryStatus.UnknownUser => new SmtpReply(550, "5.1.1", $"<{address}> User unknown"),
        _ => ForDelivery(status, address, null),
    };

    public static SmtpReply ForDelivery(DeliveryStatus status, string address, string? uid) => status switch
    {
        DeliveryStatus.Delivered => new SmtpReply(250, "2.0.0", $"<{address}> Delivered as {uid}"),
        DeliveryStatus.OverQuota => new SmtpReply(552, "5.2.2", $"<{address}> Mailbox is full"),
        DeliveryStatus.TooBig => TooBig,
        // Temporary, so the sending MTA keeps the message and retries.
        DeliveryStatus.TemporaryFailure => new SmtpReply(452, "4.3.1", $"<{address}> Insufficient system storage, try again later"),
        DeliveryStatus.PermanentFailure => new SmtpReply(550, "5.2.0", $"<{address}> Mailbox unavailable"),
        DeliveryStatus.UnknownUser => new SmtpReply(550, "5.1.1", $"<{address}> User unknown"),
        _ => new SmtpReply(451, "4.3.0", $"<{address}> Temporary failure"),
    };

    /// <summary>RFC 1870 §6.1: a message larger than the fixed maximum gets 552 (5.3.4, RFC 3463).</summary>
    public static readonly SmtpReply TooBig = new(552, "5.3.4", "Message size exceeds fixed maximum message size");

    public static readonly SmtpReply LineTooLong = new(554, "5.6.0", "Message refused: a line is longer than 1000 octets (RFC 5321 4.5.3.1.6)");

    public static readonly SmtpReply SpoolFailed = new(452, "4.3.1", "Insufficient system storage, try again later");

    public static SmtpReply For(DataProblem problem) => problem switch
    {
        DataProblem.TooBig => TooBig,
        DataProblem.SpoolFailed => SpoolFailed,
        _ => LineTooLong,
    };
}
