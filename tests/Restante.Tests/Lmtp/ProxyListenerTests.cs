using System.Buffers.Binary;
using System.Net;
using System.Text;
using Restante.Hosting;
using Restante.Tests.Infrastructure;

namespace Restante.Tests.Lmtp;

/// <summary>
/// The PROXY protocol per listener (ProxyProtocolListeners): LMTP and SMTP listeners take the header too,
/// and a listener that does not list it keeps speaking directly. The delivery listeners are on 127.0.0.2
/// so that their address differs from the POP3 listener's (all bind port 0).
/// </summary>
public sealed class ProxyListenerTests
{
    private static readonly IPAddress DeliveryAddress = IPAddress.Parse("127.0.0.2");

    private static Task<TestServer> StartAsync(string proxied) => TestServer.StartAsync(configureServer: o =>
    {
        o.Lmtp = ["127.0.0.2:0"];
        o.Smtp = ["127.0.0.3:0"];
        o.ProxyProtocolListeners = [proxied];
        o.ProxyTrustedNetworks = ["127.0.0.1"];
    });

    private static byte[] V2Tcp4(IPAddress source, int sourcePort, IPEndPoint destination)
    {
        byte[] signature = [0x0D, 0x0A, 0x0D, 0x0A, 0x00, 0x0D, 0x0A, 0x51, 0x55, 0x49, 0x54, 0x0A];
        var header = new byte[16 + 12];
        signature.CopyTo(header, 0);
        header[12] = 0x21;   // version 2, PROXY
        header[13] = 0x11;   // AF_INET, STREAM
        BinaryPrimitives.WriteUInt16BigEndian(header.AsSpan(14), 12);
        source.GetAddressBytes().CopyTo(header, 16);
        destination.Address.GetAddressBytes().CopyTo(header, 20);
        BinaryPrimitives.WriteUInt16BigEndian(header.AsSpan(24), (ushort)sourcePort);
        BinaryPrimitives.WriteUInt16BigEndian(header.AsSpan(26), (ushort)destination.Port);
        return header;
    }

    [Fact]
    public async Task An_lmtp_listener_takes_the_client_from_a_v1_header_while_pop3_stays_direct()
    {
        await using var server = await StartAsync("127.0.0.2:0");
        server.AddUser("alice", "pw");
        await using (var c = await Transcript.ConnectAsync(server.LmtpEndPoint, IPAddress.Loopback))
        {
            await c.SendRawAsync(Encoding.ASCII.GetBytes($"PROXY TCP4 203.0.113.7 {server.LmtpEndPoint.Address} 40123 {server.LmtpEndPoint.Port}\r\n"));
            await c.ExpectAsync("220 ");
            await c.SendAsync("LHLO mta.example");
            await Lmtp.ReadReplyAsync(c);
            await Lmtp.SendMessageAsync(c, "sender@example.org", Lmtp.Message, "alice");
            await c.ExpectAsync("250 ");
        }
        var delivered = await File.ReadAllTextAsync(Assert.Single(server.MessageFiles("alice")));
        Assert.Contains("from mta.example ([203.0.113.7])", delivered, StringComparison.Ordinal);

        // The POP3 listener is not listed: no header expected, the greeting comes at once.
        await using var pop3 = await Transcript.ConnectAsync(server.EndPoint);
        await pop3.ExpectAsync("+OK");
    }

    [Fact]
    public async Task An_smtp_listener_takes_the_client_from_a_v2_header_and_logs_it()
    {
        await using var server = await StartAsync("127.0.0.3:0");
        await using var c = await Transcript.ConnectAsync(server.SmtpEndPoint, IPAddress.Loopback);
        await c.SendRawAsync(V2Tcp4(IPAddress.Parse("198.51.100.9"), 50123, server.SmtpEndPoint));
        await c.ExpectAsync("220 ");
        await c.SendAsync("EHLO app.example");
        await Lmtp.ReadReplyAsync(c);
        Assert.Contains(server.Logs.Lines, l => l.Contains("198.51.100.9:50123", StringComparison.Ordinal));
    }

    [Fact]
    public async Task A_listed_delivery_listener_closes_a_connection_without_a_header_before_the_greeting()
    {
        await using var server = await StartAsync("127.0.0.2:0");
        await using var c = await Transcript.ConnectAsync(server.LmtpEndPoint, IPAddress.Loopback);
        await c.SendAsync("LHLO mta.example");
        string? line;
        try
        {
            line = await c.ReadLineAsync();
        }
        catch (IOException)
        {
            line = null;   // reset: closed with the client's bytes unread
        }
        Assert.Null(line);
        for (var i = 0; i < 100 && !server.Logs.Lines.Any(l => l.Contains("no PROXY header", StringComparison.Ordinal)); i++) await Task.Delay(50);
        Assert.Contains(server.Logs.Lines, l => l.Contains("no PROXY header", StringComparison.Ordinal));
    }

    [Theory]
    [InlineData("127.0.0.9:24", "is not one of the listen addresses")]
    [InlineData("unix:/run/restante/lmtp.sock", "is a Unix-domain socket")]
    public void A_proxy_listener_must_be_a_configured_tcp_listener(string listed, string problem)
    {
        var options = new RestanteOptions
        {
            Lmtp = ["127.0.0.1:24", "unix:/run/restante/lmtp.sock"],
            ProxyProtocolListeners = [listed],
            ProxyTrustedNetworks = ["10.0.0.5"],
        };
        Assert.Contains(options.Validate(), p => p.StartsWith("ProxyProtocolListeners:", StringComparison.Ordinal) && p.Contains(problem, StringComparison.Ordinal));
    }

    [Fact]
    public void Listing_a_listener_needs_trusted_networks_and_matches_it_as_an_endpoint()
    {
        var options = new RestanteOptions { Pop3 = ["127.0.0.1:110"], Lmtp = ["localhost:24"], ProxyProtocolListeners = ["127.0.0.1:24"] };
        Assert.Contains(options.Validate(), p => p.Contains("ProxyTrustedNetworks", StringComparison.Ordinal));
        Assert.True(options.DeliveryExpectsProxyHeader("localhost:24"));
        Assert.False(options.Pop3ExpectsProxyHeader("127.0.0.1:110"));
    }
}
