namespace Restante.Auth;

/// <summary>When repeated failed logins cut an address off. Bound from the configuration section "LoginThrottle".</summary>
public sealed class LoginThrottleOptions : ISettingsSection
{
    /// <summary>Failed logins from one address within <see cref="Window"/> before it is blocked.</summary>
    public int MaxFailuresPerIp { get; set; } = 10;

    /// <summary>
    /// Failed logins for one user name, from anywhere, within <see cref="Window"/>. Past it, each
    /// address that fails for that user is blocked at once — the addresses, never the user, so an
    /// attacker cannot lock the owner out.
    /// </summary>
    public int MaxFailuresPerUser { get; set; } = 20;

    public TimeSpan Window { get; set; } = TimeSpan.FromMinutes(10);

    /// <summary>The cooling-off period during which a blocked address gets no password check at all.</summary>
    public TimeSpan BlockDuration { get; set; } = TimeSpan.FromMinutes(15);

    /// <summary>Bounds the memory an attack spread over many addresses can take; the oldest entries go first.</summary>
    public int MaxTrackedKeys { get; set; } = 100_000;

    /// <summary>
    /// IPv6 clients are counted and blocked per network of this prefix length, not per address: a single host usually
    /// has a whole /64 to pick fresh addresses from.
    /// </summary>
    public int Ipv6PrefixLength { get; set; } = Networking.AddressBlock.DefaultIpv6PrefixLength;

    public IEnumerable<string> Validate()
    {
        if (!Networking.AddressBlock.IsValidIpv6PrefixLength(Ipv6PrefixLength)) yield return "LoginThrottle:Ipv6PrefixLength must be between 1 and 128.";
        if (MaxFailuresPerIp < 1) yield return "LoginThrottle:MaxFailuresPerIp must be at least 1.";
        if (MaxFailuresPerUser < 1) yield return "LoginThrottle:MaxFailuresPerUser must be at least 1.";
        if (Window <= TimeSpan.Zero) yield return "LoginThrottle:Window must be positive.";
        if (BlockDuration < TimeSpan.Zero) yield return "LoginThrottle:BlockDuration must not be negative.";
        if (MaxTrackedKeys < 100) yield return "LoginThrottle:MaxTrackedKeys must be at least 100.";
    }
}
