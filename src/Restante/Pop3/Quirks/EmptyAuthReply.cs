namespace Restante.Pop3.Quirks;

/// <summary>How a bare <c>AUTH</c> line (no mechanism) is answered.</summary>
public enum EmptyAuthReply
{
    /// <summary>
    /// "+OK", one mechanism name a line, "." — what Outlook and Outlook Express send the bare AUTH for (they probe
    /// for NTLM/SPA this way and fall back to USER/PASS when it is not listed), and what Dovecot answers everyone.
    /// </summary>
    List,

    /// <summary>
    /// "-ERR": RFC 5034 §4 defines only "AUTH mechanism [initial-response]", so a bare AUTH is a syntax error; for
    /// clients known to read CAPA's SASL line instead.
    /// </summary>
    Error,
}
