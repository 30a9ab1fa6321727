using System.Buffers.Binary;
using System.Globalization;
using System.Net;
using System.Text;

namespace Restante.Protocol;

/// <summary>
/// The HAProxy PROXY protocol header (haproxy doc/proxy-protocol.txt), versions 1 (text) and 2 (binary), that
/// a load balancer sends before the client's first byte. Parsing only; the listener decides whom to believe.
/// </summary>
public static class ProxyHeader
{
    /// <summary>v2 starts with these 12 bytes (§2.2); v1 with "PROXY " (§2.1).</summary>
    public static ReadOnlySpan<byte> V2Signature => [0x0D, 0x0A, 0x0D, 0x0A, 0x00, 0x0D, 0x0A, 0x51, 0x55, 0x49, 0x54, 0x0A];

    public static ReadOnlySpan<byte> V1Prefix => "PROXY "u8;

    /// <summary>§2.1: "a receiver … must not try to read more than 107 characters", CRLF included.</summary>
    public const int V1MaxLength = 107;

    /// <summary>
    /// A whole v1 line, CRLF included. <paramref name="source"/> is the client, or null for "UNKNOWN" (§2.1: the
    /// receiver then uses the connection's own addresses).
    /// </summary>
    public static bool TryParseV1(ReadOnlySpan<byte> line, out IPEndPoint? source)
    {
        source = null;
        if (line.Length > V1MaxLength || !line.StartsWith(V1Prefix) || !line.EndsWith("\r\n"u8)) return false;
        var text = Encoding.ASCII.GetString(line[V1Prefix.Length..^2]);
        if (text.Contains('\r', StringComparison.Ordinal) || text.Contains('\n', StringComparison.Ordinal)) return false;
        var fields = text.Split(' ');
        if (fields[0] == "UNKNOWN") return true;
        // §2.1: exactly one space between fields, protocol TCP4 or TCP6, then source, destination, ports.
        if (fields.Length != 5 || fields[0] is not ("TCP4" or "TCP6")) return false;
        var family = fields[0] == "TCP4" ? System.Net.Sockets.AddressFamily.InterNetwork : System.Net.Sockets.AddressFamily.InterNetworkV6;
        if (!TryAddress(fields[1], family, out var sourceAddress) || !TryAddress(fields[2], family, out _)) return false;
        if (!TryPort(fields[3], out var sourcePort) || !TryPort(fields[4], out _)) return false;
        source = new IPEndPoint(sourceAddress, sourcePort);
        return true;
    }

    /// <summary>Bytes 13–16 of a v2 header (after the signature): how many address/TLV bytes follow, or -1 if not v2.</summary>
    public static int V2BodyLength(ReadOnlySpan<byte> first16)
    {
        if (first16.Length < 16 || !first16.StartsWith(V2Signature)) return -1;
        // §2.2: the high nibble of byte 13 is the version and must be 2.
        if (first16[12] >> 4 != 2) return -1;
        return BinaryPrimitives.ReadUInt16BigEndian(first16[14..16]);
    }

    /// <summary>
    /// A whole v2 header: the 16 fixed bytes and the body. <paramref name="source"/> is the client, or null for
    /// LOCAL (a health check of the balancer itself) and for families other than TCP over IPv4/IPv6 (§2.2: use
    /// the connection's own addresses).
    /// </summary>
    public static bool TryParseV2(ReadOnlySpan<byte> first16, ReadOnlySpan<byte> body, out IPEndPoint? source)
    {
        source = null;
        if (V2BodyLength(first16) != body.Length) return false;
        var command = first16[12] & 0x0F;
        if (command == 0x0) return true;           // LOCAL: addresses, if any, are to be ignored
        if (command != 0x1) return false;          // only LOCAL and PROXY are defined
        var family = first16[13] >> 4;
        var transport = first16[13] & 0x0F;
        if (family > 3 || transport > 2) return false;
        switch (family, transport)
        {
            case (1, 1):   // TCP over IPv4: 4 + 4 + 2 + 2
                if (body.Length < 12) return false;
                source = new IPEndPoint(new IPAddress(body[..4]), BinaryPrimitives.ReadUInt16BigEndian(body[8..10]));
                return true;
            case (2, 1):   // TCP over IPv6: 16 + 16 + 2 + 2
                if (body.Length < 36) return false;
                source = new IPEndPoint(new IPAddress(body[..16]), BinaryPrimitives.ReadUInt16BigEndian(body[32..34]));
                return true;
            default:       // UNSPEC, UNIX, datagrams: known, but nothing to put in place of the connection's peer
                return true;
        }
    }

    private static bool TryAddress(string text, System.Net.Sockets.AddressFamily family, out IPAddress address)
    {
        // IPAddress.TryParse accepts forms the protocol does not ("1", "0x7f.1", a scope id): demand the canonical shape.
        // (ScopeId throws for IPv4, so the family decides which check applies.)
        if (IPAddress.TryParse(text, out address!) && address.AddressFamily == family
            && (family == System.Net.Sockets.AddressFamily.InterNetworkV6 ? address.ScopeId == 0 && !text.Contains('%', StringComparison.Ordinal) : text.Count(c => c == '.') == 3))
            return true;
        address = IPAddress.None;
        return false;
    }

    private static bool TryPort(string text, out int port)
    {
        // §2.1: decimal 0..65535, no leading zero (except "0" itself).
        port = 0;
        if (text.Length is 0 or > 5 || (text.Length > 1 && text[0] == '0') || !text.All(char.IsAsciiDigit)) return false;
        port = int.Parse(text, NumberStyles.None, CultureInfo.InvariantCulture);
        return port <= 65535;
    }
}
