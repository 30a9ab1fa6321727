using System.Net;
using System.Net.Sockets;

namespace Restante.Networking;

/// <summary>An address block such as "10.0.0.0/8", "::1/128" or a single address; matches IPv4-mapped IPv6 too.</summary>
public readonly record struct NetworkRange(IPNetwork Network)
{
    public static bool TryParse(string text, out NetworkRange range)
    {
        range = default;
        var trimmed = text.Trim();
        if (!trimmed.Contains('/', StringComparison.Ordinal))
        {
            if (!IPAddress.TryParse(trimmed, out var single)) return false;
            trimmed += single.AddressFamily == AddressFamily.InterNetwork ? "/32" : "/128";
        }
        if (!IPNetwork.TryParse(trimmed, out var network)) return false;
        range = new NetworkRange(network);
        return true;
    }

    public bool Contains(IPAddress address)
    {
        if (address.IsIPv4MappedToIPv6) address = address.MapToIPv4();
        return Network.BaseAddress.AddressFamily == address.AddressFamily && Network.Contains(address);
    }
}
