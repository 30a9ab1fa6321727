using Restante.Protocol;

namespace Restante.Lmtp;

/// <summary>Which command is legal when, in one place (RFC 5321 §4.1.4; RFC 2033 §4.1).</summary>
internal static class SmtpStateTable
{
    /// <summary>The verbs a dialect knows at all: LMTP has LHLO and no EHLO/HELO; SMTP the reverse.</summary>
    public static bool Knows(DeliveryDialect dialect, SmtpVerb verb) => verb switch
    {
        SmtpVerb.Unknown => false,
        SmtpVerb.Lhlo => dialect == DeliveryDialect.Lmtp,
        SmtpVerb.Ehlo or SmtpVerb.Helo => dialect == DeliveryDialect.Smtp,
        _ => true,
    };

    /// <summary>
    /// The reply for a verb that is not legal now, or null when it is. RFC 5321 §4.1.4: a
    /// transaction needs a greeting first, RCPT needs MAIL, DATA needs RCPT (checked by DATA itself).
    /// </summary>
    public static SmtpReply? Refusal(SmtpState state, SmtpVerb verb, DeliveryDialect dialect) => verb switch
    {
        SmtpVerb.Mail when state == SmtpState.Connected => new SmtpReply(503, "5.5.1", dialect == DeliveryDialect.Lmtp ? "Send LHLO first" : "Send EHLO first"),
        SmtpVerb.Mail when state == SmtpState.Mail => new SmtpReply(503, "5.5.1", "Nested MAIL command"),
        SmtpVerb.Rcpt or SmtpVerb.Data when state != SmtpState.Mail => new SmtpReply(503, "5.5.1", "Need MAIL command"),
        _ => null,
    };
}
