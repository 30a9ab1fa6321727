namespace Restante.Delivery;

/// <param name="Sender">The reverse-path from MAIL FROM (or -f), without brackets; "" for the null sender &lt;&gt;.</param>
/// <param name="QueueId">Names this transaction in Received: lines and the log.</param>
/// <param name="Protocol">"LMTP" or "ESMTP" for the Received: line (RFC 3848); null adds no Received: line (restante deliver).</param>
/// <param name="ClientName">What the client said in LHLO/EHLO.</param>
/// <param name="Peer">The client's address, as the Received: line's comment.</param>
/// <param name="MessageId">The Message-ID header, for the log only.</param>
public sealed record DeliveryEnvelope(string Sender, string QueueId, string? Protocol = null, string? ClientName = null, string? Peer = null, string? MessageId = null);
