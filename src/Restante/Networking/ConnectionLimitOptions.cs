namespace Restante.Networking;

/// <summary>How many connections the server holds at once, bound from the configuration root.</summary>
public sealed class ConnectionLimitOptions : ISettingsSection
{
    /// <summary>All connections on all POP3 listeners. Each idle session costs a few KB, so this is about file descriptors.</summary>
    public int MaxConnections { get; set; } = 10_000;

    /// <summary>
    /// Per client address. Generous enough for a NAT in front of an office, small enough that one
    /// host cannot take every slot.
    /// </summary>
    public int MaxConnectionsPerIp { get; set; } = 100;

    /// <summary>IPv6 clients are counted per network of this prefix length (one subscriber's /64), not per address.</summary>
    public int Ipv6PrefixLength { get; set; } = AddressBlock.DefaultIpv6PrefixLength;

    /// <summary>Address ranges exempt from the per-address limit and from login throttling ("10.0.0.0/8", "2001:db8::/32").</summary>
    public List<string> TrustedNetworks { get; set; } = [];

    /// <summary>Loopback peers (webmail on the same host, tests, benchmarks) are trusted unless this is turned off.</summary>
    public bool TrustLoopback { get; set; } = true;

    public IEnumerable<string> Validate()
    {
        if (MaxConnections < 1) yield return "MaxConnections must be at least 1.";
        if (MaxConnectionsPerIp < 1) yield return "MaxConnectionsPerIp must be at least 1.";
        if (!AddressBlock.IsValidIpv6PrefixLength(Ipv6PrefixLength)) yield return "Ipv6PrefixLength must be between 1 and 128.";
        foreach (var text in TrustedNetworks)
            if (!NetworkRange.TryParse(text, out _)) yield return $"TrustedNetworks: '{text}' is not an address or CIDR range.";
    }

    public TrustedNetworks BuildTrustedNetworks() => Networking.TrustedNetworks.Parse(TrustedNetworks, TrustLoopback);
}
