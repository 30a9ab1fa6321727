namespace Restante.Testing;

/// <summary>How an injected login refusal answers PASS, APOP or AUTH (RFC 2449 §8, RFC 3206).</summary>
public enum LoginFailure
{
    /// <summary><c>-ERR [IN-USE]</c>: the mailbox is locked by another session (RFC 2449 §8.1.2).</summary>
    InUse,

    /// <summary><c>-ERR [LOGIN-DELAY]</c>: the user logged in too recently (RFC 2449 §8.1.1).</summary>
    LoginDelay,

    /// <summary><c>-ERR [SYS/TEMP]</c>: a temporary problem; the client may retry (RFC 3206 §4).</summary>
    SysTemp,

    /// <summary><c>-ERR [AUTH]</c>: the credentials are refused (RFC 3206 §5).</summary>
    Auth,
}
