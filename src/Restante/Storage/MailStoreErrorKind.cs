namespace Restante.Storage;

public enum MailStoreErrorKind
{
    /// <summary>Another session holds the mailbox (RFC 2449 [IN-USE]).</summary>
    InUse,
    /// <summary>Worth retrying later: I/O error, disk full (RFC 3206 [SYS/TEMP]).</summary>
    Transient,
    /// <summary>Will not fix itself: corrupt or inaccessible mailbox (RFC 3206 [SYS/PERM]).</summary>
    Permanent,
}
