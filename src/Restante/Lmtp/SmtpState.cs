namespace Restante.Lmtp;

/// <summary>Where a delivery session is in RFC 5321 §3.3's sequence (DATA itself is a mode of the session).</summary>
public enum SmtpState
{
    /// <summary>Connected, no LHLO/EHLO/HELO yet.</summary>
    Connected,
    /// <summary>Greeted, no transaction.</summary>
    Ready,
    /// <summary>MAIL accepted: RCPT and DATA may follow.</summary>
    Mail,
}
