namespace Restante.Delivery;

/// <summary>What became of one recipient. The LMTP session maps these to reply codes, `restante deliver` to exit codes.</summary>
public enum DeliveryStatus
{
    Delivered,
    /// <summary>The address does not parse as a mailbox.</summary>
    BadAddress,
    /// <summary>The domain is not one of ours: we never relay.</summary>
    ForeignDomain,
    UnknownUser,
    /// <summary>Storing the message would take the mailbox over its quota (RFC 3463 X.2.2).</summary>
    OverQuota,
    /// <summary>Larger than the configured maximum message size (RFC 3463 X.3.4).</summary>
    TooBig,
    /// <summary>Disk full, I/O error: the sender should try again later (RFC 3463 X.3.1).</summary>
    TemporaryFailure,
    /// <summary>The mailbox cannot be written and will not fix itself.</summary>
    PermanentFailure,
}
