using System.Net;

namespace Restante.Networking;

/// <summary>Peers exempt from per-address limits and login throttling: loopback (unless turned off) and configured ranges.</summary>
public sealed class TrustedNetworks
{
    private readonly NetworkRange[] _ranges;
    private readonly bool _loopback;

    public TrustedNetworks(IEnumerable<NetworkRange> ranges, bool trustLoopback)
    {
        _ranges = ranges.ToArray();
        _loopback = trustLoopback;
    }

    public static TrustedNetworks None { get; } = new([], trustLoopback: false);

    /// <summary>Ranges as configured ("10.0.0.0/8", "192.0.2.7"), validated before (the options' Validate).</summary>
    /// <exception cref="FormatException">One is not an address or CIDR range.</exception>
    public static TrustedNetworks Parse(IEnumerable<string> ranges, bool trustLoopback)
        => new(ranges.Select(t => NetworkRange.TryParse(t, out var r) ? r : throw new FormatException(t)), trustLoopback);

    /// <summary>These networks and <paramref name="more"/>'s ranges; loopback as these say.</summary>
    public TrustedNetworks With(TrustedNetworks more) => new(_ranges.Concat(more._ranges), _loopback);

    public bool Contains(IPAddress? address)
    {
        if (address is null) return _loopback;   // a Unix-domain socket peer is local
        if (address.IsIPv4MappedToIPv6) address = address.MapToIPv4();
        if (_loopback && IPAddress.IsLoopback(address)) return true;
        foreach (var range in _ranges)
            if (range.Contains(address)) return true;
        return false;
    }
}
