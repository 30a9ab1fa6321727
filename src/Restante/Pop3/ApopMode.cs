namespace Restante.Pop3;

/// <summary>Whether the greeting offers APOP (RFC 1939 §7: a server that does not offer it sends no timestamp).</summary>
public enum ApopMode
{
    /// <summary>
    /// Offered only while the user directory holds a secret that can serve APOP. Clients such as MailKit try APOP
    /// first whenever the greeting has a timestamp; with only one-way hashes every such try is a failed login, which
    /// costs the delay and counts toward blocking the address.
    /// </summary>
    Auto,

    /// <summary>Always offered.</summary>
    On,

    /// <summary>Never offered; APOP is refused like a command this server does not have.</summary>
    Off,
}
