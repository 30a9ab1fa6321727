namespace Restante.Delivery;

/// <summary>The rules of local delivery, built from <c>RestanteOptions</c>.</summary>
public sealed class LocalDeliveryOptions
{
    /// <summary>
    /// The domains whose mail is ours (compared case-insensitively). Empty: any domain, so
    /// <c>user@whatever</c> goes to <c>user</c> — right for a listener only the local MTA talks to,
    /// which has already decided the mail is local. Mail for any other domain is refused: never relayed.
    /// </summary>
    public IReadOnlyList<string> LocalDomains { get; init; } = [];

    /// <summary>The storage limit of users whose passwd line has no quota rule; 0 means none.</summary>
    public long DefaultQuota { get; init; }

    /// <summary>The largest message accepted, in octets (RFC 1870 SIZE); 0 means no limit.</summary>
    public long MaxMessageSize { get; init; } = 50L << 20;

    /// <summary>Where a message being received is kept until it is delivered (an unlinked file: nothing stays after a crash).</summary>
    public string SpoolDirectory { get; init; } = Path.GetTempPath();

    /// <summary>The name this host gives itself in Received: lines.</summary>
    public string Hostname { get; init; } = "localhost";

    public bool IsLocalDomain(string domain)
    {
        if (LocalDomains.Count == 0 || domain.Length == 0) return true;
        foreach (var local in LocalDomains)
            if (string.Equals(local, domain, StringComparison.OrdinalIgnoreCase)) return true;
        return false;
    }
}
