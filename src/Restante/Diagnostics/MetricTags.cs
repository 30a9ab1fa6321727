using Restante.Delivery;

namespace Restante.Diagnostics;

/// <summary>The fixed values the metrics' tags take, in one place, so a dashboard can list them.</summary>
internal static class MetricTags
{
    // restante.pop3.logins "outcome"
    public const string Success = "success";
    /// <summary>Wrong credentials, unknown user, failed SASL exchange: the answer held to the failure delay.</summary>
    public const string Failure = "failure";
    /// <summary>Refused unchecked: the address is blocked by the login throttle.</summary>
    public const string Throttled = "throttled";
    /// <summary>Refused unchecked: the password-hashing queue was full.</summary>
    public const string Busy = "busy";
    /// <summary>Right credentials, but the mailbox was locked by another session ([IN-USE]).</summary>
    public const string InUse = "in-use";
    /// <summary>Right credentials, but too soon after the last login ([LOGIN-DELAY]).</summary>
    public const string LoginDelay = "login-delay";
    /// <summary>Right credentials, but the store could not open the mailbox ([SYS/TEMP] or [SYS/PERM]).</summary>
    public const string Unavailable = "unavailable";
    /// <summary>Right credentials, refused by a session hook (the test kit's injected faults).</summary>
    public const string Refused = "refused";

    /// <summary>The mechanism of a PASS, APOP or AUTH refused before its mechanism was read.</summary>
    public static string MechanismOf(Protocol.Pop3Verb verb) => verb switch
    {
        Protocol.Pop3Verb.Pass => "USER/PASS",
        Protocol.Pop3Verb.Apop => "APOP",
        _ => "AUTH",
    };

    // restante.deliveries "protocol": the envelope's Received: protocol (RFC 3848), none for `restante deliver`.
    public static string ProtocolOf(DeliveryEnvelope envelope) => envelope.Protocol switch
    {
        "LMTP" => "lmtp",
        "ESMTP" => "smtp",
        null => "deliver",
        _ => "other",
    };

    // restante.deliveries "outcome"
    public static string OutcomeOf(DeliveryStatus status) => status switch
    {
        DeliveryStatus.Delivered => "delivered",
        DeliveryStatus.BadAddress => "bad-address",
        DeliveryStatus.ForeignDomain => "foreign-domain",
        DeliveryStatus.UnknownUser => "unknown-user",
        DeliveryStatus.OverQuota => "over-quota",
        DeliveryStatus.TooBig => "too-big",
        DeliveryStatus.TemporaryFailure => "temporary-failure",
        DeliveryStatus.PermanentFailure => "permanent-failure",
        _ => "other",
    };
}
