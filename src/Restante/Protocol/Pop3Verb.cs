namespace Restante.Protocol;

/// <summary>The POP3 command keywords Restante knows (RFC 1939 §4–§7, RFC 2449 CAPA, RFC 2595 STLS, RFC 5034 AUTH).</summary>
public enum Pop3Verb : byte
{
    Unknown,
    User,
    Pass,
    Apop,
    Auth,
    Stls,
    Capa,
    Quit,
    Stat,
    List,
    Retr,
    Dele,
    Noop,
    Rset,
    Top,
    Uidl,
    /// <summary>RFC 1460 LAST, for clients a quirk profile names.</summary>
    Last,
    /// <summary>RFC 6856 §2.1 UTF8.</summary>
    Utf8,
    /// <summary>RFC 6856 §3 LANG.</summary>
    Lang,
}
