namespace Restante.Protocol;

/// <summary>Extended response codes (RFC 2449 §8, RFC 3206).</summary>
public enum ResponseCode : byte
{
    None,
    /// <summary>RFC 2449 §8.1.2: the maildrop is locked by another session.</summary>
    InUse,
    /// <summary>RFC 2449 §8.1.1: the user must wait longer between logins.</summary>
    LoginDelay,
    /// <summary>RFC 3206 §4: a temporary system problem.</summary>
    SysTemp,
    /// <summary>RFC 3206 §4: a permanent system problem.</summary>
    SysPerm,
    /// <summary>RFC 3206 §5: the credentials were wrong.</summary>
    Auth,
    /// <summary>RFC 6856 §5: the message needs UTF-8 mode; the client may send UTF8 and ask again.</summary>
    Utf8,
}
