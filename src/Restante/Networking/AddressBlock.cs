using System.Net;
using System.Net.Sockets;

namespace Restante.Networking;

/// <summary>
/// The unit a per-address limit counts: an IPv4 address, or the IPv6 network of a given prefix length around an IPv6
/// address. One IPv6 subscriber gets at least a /64 (RFC 6177), so counting single IPv6 addresses would let one host
/// take 2^64 fresh addresses, each with a clean slate.
/// </summary>
public static class AddressBlock
{
    /// <summary>The usual per-subscriber IPv6 allocation; a /64 is one LAN.</summary>
    public const int DefaultIpv6PrefixLength = 64;

    /// <summary>IPv4 (mapped ones too) as is; IPv6 with every bit past <paramref name="ipv6PrefixLength"/> cleared.</summary>
    public static IPAddress Of(IPAddress address, int ipv6PrefixLength)
    {
        ArgumentNullException.ThrowIfNull(address);
        if (address.IsIPv4MappedToIPv6) return address.MapToIPv4();
        if (address.AddressFamily != AddressFamily.InterNetworkV6 || ipv6PrefixLength >= 128) return address;
        Span<byte> bytes = stackalloc byte[16];
        address.TryWriteBytes(bytes, out _);
        var prefix = Math.Max(0, ipv6PrefixLength);
        for (var i = 0; i < 16; i++)
        {
            var keep = Math.Clamp(prefix - i * 8, 0, 8);
            bytes[i] &= (byte)(0xFF << (8 - keep));
        }
        // The scope id (fe80::1%eth0) is dropped on purpose: the block is the same whatever interface it came in on.
        return new IPAddress(bytes);
    }

    public static bool IsValidIpv6PrefixLength(int length) => length is >= 1 and <= 128;
}
