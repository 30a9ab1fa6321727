using System.Buffers.Binary;
using System.Net;
using System.Text;
using Restante.Tests.Infrastructure;

namespace Restante.Tests.Pop3;

/// <summary>
/// HAProxy PROXY protocol v1/v2 (haproxy doc/proxy-protocol.txt) on the POP3 listener, from hand-made headers:
/// the session sees the client the header names, and anything else closes the connection before the greeting.
/// </summary>
public sealed class ProxyProtocolTests
{
    private static Task<TestServer> StartBehindBalancerAsync(params string[] balancers) =>
        TestServer.StartAsync(configureServer: o =>
        {
            o.ProxyProtocol = true;
            o.ProxyTrustedNetworks = [.. balancers];
        });

    private static byte[] V2(byte command, byte familyAndTransport, byte[] body)
    {
        byte[] signature = [0x0D, 0x0A, 0x0D, 0x0A, 0x00, 0x0D, 0x0A, 0x51, 0x55, 0x49, 0x54, 0x0A];
        var header = new byte[16 + body.Length];
        signature.CopyTo(header, 0);
        header[12] = (byte)(0x20 | command);
        header[13] = familyAndTransport;
        BinaryPrimitives.WriteUInt16BigEndian(header.AsSpan(14), (ushort)body.Length);
        body.CopyTo(header, 16);
        return header;
    }

    private static byte[] V2Tcp6(IPAddress source, int port)
    {
        var body = new byte[36];
        source.GetAddressBytes().CopyTo(body, 0);
        IPAddress.IPv6Loopback.GetAddressBytes().CopyTo(body, 16);
        BinaryPrimitives.WriteUInt16BigEndian(body.AsSpan(32), (ushort)port);
        BinaryPrimitives.WriteUInt16BigEndian(body.AsSpan(34), 110);
        return V2(0x1, 0x21, body);
    }

    private static async Task<List<string>> CapaAsync(Transcript c)
    {
        await c.SendAsync("CAPA");
        await c.ExpectAsync("+OK");
        return await c.ReadMultiLineAsync();
    }

    [Fact]
    public async Task A_v1_header_names_the_client_for_the_plaintext_policy_and_the_log()
    {
        await using var server = await StartBehindBalancerAsync("127.0.0.0/8");
        await using var c = await Transcript.ConnectAsync(server.EndPoint);
        // The header and the first command in one segment: the header reader must not take the command.
        await c.SendRawAsync(Encoding.ASCII.GetBytes("PROXY TCP4 203.0.113.7 127.0.0.1 40123 110\r\nCAPA\r\n"));
        await c.ExpectAsync("+OK");
        await c.ExpectAsync("+OK");
        var capabilities = await c.ReadMultiLineAsync();
        // Connected over loopback, but the client is on a network: no USER without TLS.
        Assert.DoesNotContain("USER", capabilities);
        Assert.Contains("STLS", capabilities);
        Assert.Contains(server.Logs.Lines, line => line.Contains("203.0.113.7:40123", StringComparison.Ordinal));
    }

    [Fact]
    public async Task A_v2_header_names_an_ipv6_client()
    {
        await using var server = await StartBehindBalancerAsync("127.0.0.1");
        await using var c = await Transcript.ConnectAsync(server.EndPoint);
        await c.SendRawAsync(V2Tcp6(IPAddress.Parse("2001:db8::7"), 50000));
        await c.ExpectAsync("+OK");
        Assert.DoesNotContain("USER", await CapaAsync(c));
        Assert.Contains(server.Logs.Lines, line => line.Contains("[2001:db8::7]:50000", StringComparison.Ordinal));
    }

    [Fact]
    public async Task A_v2_header_naming_a_loopback_client_keeps_plaintext_allowed()
    {
        await using var server = await StartBehindBalancerAsync("127.0.0.1");
        await using var c = await Transcript.ConnectAsync(server.EndPoint);
        await c.SendRawAsync(V2Tcp6(IPAddress.IPv6Loopback, 50001));
        await c.ExpectAsync("+OK");
        Assert.Contains("USER", await CapaAsync(c));
    }

    [Fact]
    public async Task A_v2_local_header_from_a_health_check_keeps_the_connection_peer()
    {
        await using var server = await StartBehindBalancerAsync("127.0.0.1");
        await using var c = await Transcript.ConnectAsync(server.EndPoint);
        await c.SendRawAsync(V2(0x0, 0x00, []));
        await c.ExpectAsync("+OK");
        Assert.Contains("USER", await CapaAsync(c));   // the peer is 127.0.0.1, the balancer itself
    }

    public static TheoryData<string, byte[]> MalformedHeaders => new()
    {
        { "no header", Encoding.ASCII.GetBytes("CAPA\r\nUSER alice\r\n") },
        { "v1 unknown protocol", Encoding.ASCII.GetBytes("PROXY TCP5 203.0.113.7 127.0.0.1 40123 110\r\n") },
        { "v1 bad address", Encoding.ASCII.GetBytes("PROXY TCP4 203.0.113 127.0.0.1 40123 110\r\n") },
        { "v1 IPv6 under TCP4", Encoding.ASCII.GetBytes("PROXY TCP4 2001:db8::7 127.0.0.1 40123 110\r\n") },
        { "v1 port out of range", Encoding.ASCII.GetBytes("PROXY TCP4 203.0.113.7 127.0.0.1 65536 110\r\n") },
        { "v1 missing field", Encoding.ASCII.GetBytes("PROXY TCP4 203.0.113.7 127.0.0.1 40123\r\n") },
        { "v1 double space", Encoding.ASCII.GetBytes("PROXY TCP4  203.0.113.7 127.0.0.1 40123 110\r\n") },
        { "v1 bare LF", Encoding.ASCII.GetBytes("PROXY TCP4 203.0.113.7 127.0.0.1 40123 110\n") },
        { "v1 longer than 107 bytes", Encoding.ASCII.GetBytes("PROXY TCP4 203.0.113.7 127.0.0.1 40123 110" + new string(' ', 80) + "\r\n") },
        { "v2 version 1", WithByte(V2Tcp6(IPAddress.Parse("2001:db8::7"), 1), 12, 0x11) },
        { "v2 unknown command", WithByte(V2Tcp6(IPAddress.Parse("2001:db8::7"), 1), 12, 0x22) },
        { "v2 IPv6 body too short", V2(0x1, 0x21, new byte[12]) },
        { "v2 unknown family", V2(0x1, 0x41, new byte[12]) },
    };

    private static byte[] WithByte(byte[] bytes, int index, byte value)
    {
        bytes[index] = value;
        return bytes;
    }

    [Theory]
    [MemberData(nameof(MalformedHeaders))]
    public async Task A_malformed_or_missing_header_closes_the_connection_before_the_greeting_and_is_logged(string what, byte[] bytes)
    {
        await using var server = await StartBehindBalancerAsync("127.0.0.0/8");
        await using var c = await Transcript.ConnectAsync(server.EndPoint);
        await c.SendRawAsync(bytes);
        Assert.True(await ClosedWithoutGreetingAsync(c), what);
        await WaitForLogAsync(server, "Closed a connection from 127.0.0.1");
    }

    [Fact]
    public async Task A_header_from_outside_the_trusted_networks_is_not_believed()
    {
        await using var server = await StartBehindBalancerAsync("10.0.0.0/8");
        await using var c = await Transcript.ConnectAsync(server.EndPoint);
        await c.SendRawAsync(Encoding.ASCII.GetBytes("PROXY TCP4 127.0.0.1 127.0.0.1 40123 110\r\n"));
        Assert.True(await ClosedWithoutGreetingAsync(c));
        await WaitForLogAsync(server, "not in ProxyTrustedNetworks");
    }

    [Fact]
    public async Task The_balancer_is_not_held_to_the_per_address_connection_limit()
    {
        // Loopback not trusted, one connection per address: without the exemption the second client
        // through the same balancer would be refused at accept.
        await using var server = await TestServer.StartAsync(
            limits: new Restante.Networking.ConnectionLimitOptions { MaxConnectionsPerIp = 1, TrustLoopback = false },
            configureServer: o =>
            {
                o.ProxyProtocol = true;
                o.ProxyTrustedNetworks = ["127.0.0.1"];
            });
        await using var first = await Transcript.ConnectAsync(server.EndPoint);
        await first.SendRawAsync(Encoding.ASCII.GetBytes("PROXY TCP4 203.0.113.7 127.0.0.1 40123 110\r\n"));
        await first.ExpectAsync("+OK");
        await using var second = await Transcript.ConnectAsync(server.EndPoint);
        await second.SendRawAsync(Encoding.ASCII.GetBytes("PROXY TCP4 203.0.113.8 127.0.0.1 40124 110\r\n"));
        await second.ExpectAsync("+OK");
    }

    [Fact]
    public async Task Proxy_protocol_without_trusted_networks_is_a_configuration_error()
    {
        var error = await Assert.ThrowsAsync<InvalidOperationException>(() => StartBehindBalancerAsync());
        Assert.Contains("ProxyTrustedNetworks", error.Message);
    }

    /// <summary>End of stream, or a reset: closing with the client's bytes unread makes the kernel send RST.</summary>
    private static async Task<bool> ClosedWithoutGreetingAsync(Transcript c)
    {
        try
        {
            return await c.ReadLineAsync() is null;
        }
        catch (IOException)
        {
            return true;
        }
    }

    private static async Task WaitForLogAsync(TestServer server, string text)
    {
        // The session task logs right after closing; the client may see the close first.
        for (var i = 0; i < 100 && !server.Logs.Lines.Any(l => l.Contains(text, StringComparison.Ordinal)); i++) await Task.Delay(50);
        Assert.Contains(server.Logs.Lines, l => l.Contains(text, StringComparison.Ordinal));
    }
}
