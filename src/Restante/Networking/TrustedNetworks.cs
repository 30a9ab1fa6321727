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
