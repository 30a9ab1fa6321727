namespace Restante.Lmtp;

/// <summary>
/// The two protocols the delivery listener speaks. They differ in three places only: the greeting
/// verb (LHLO vs EHLO/HELO, RFC 2033 §4.1), the reply after the data (one per recipient in LMTP,
/// RFC 2033 §4.2; one for the whole message in SMTP) and the protocol name in Received: lines.
/// </summary>
public enum DeliveryDialect
{
    Lmtp,
    Smtp,
}
