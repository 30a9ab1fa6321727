using Restante.Delivery;

namespace Restante.Lmtp;

/// <summary>One mail transaction (RFC 5321 §3.3): from MAIL to the end of DATA, RSET or a new greeting.</summary>
internal sealed class MailTransaction(string sender, long declaredSize)
{
    /// <summary>The reverse-path without brackets; "" for &lt;&gt;.</summary>
    public string Sender { get; } = sender;

    /// <summary>RFC 1870: the SIZE the client declared, 0 if none.</summary>
    public long DeclaredSize { get; } = declaredSize;

    /// <summary>The accepted recipients, in RCPT order: RFC 2033 §4.2 replies come in this order.</summary>
    public List<LocalRecipient> Recipients { get; } = [];
}
