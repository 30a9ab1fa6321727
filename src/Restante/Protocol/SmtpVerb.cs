namespace Restante.Protocol;

/// <summary>The commands the delivery listener knows (RFC 5321 §4.1.1, RFC 2033 §4.1 for LHLO).</summary>
public enum SmtpVerb
{
    Unknown,
    Lhlo,
    Ehlo,
    Helo,
    Mail,
    Rcpt,
    Data,
    Rset,
    Noop,
    Quit,
    Vrfy,
    Help,
}
