using System.Net.Sockets;
using System.Text;
using Restante.Networking;
using Restante.Tests.Infrastructure;

namespace Restante.Tests.Networking;

/// <summary>
/// A RETR cut by its send bound (<see cref="CommandDescriptorGate.HoldLimit"/>: a slow reader of a large message)
/// closes the connection mid-message without a goodbye line: anything written then would reach the client as part of
/// the message (RFC 1939 §3: the multi-line reply ends only with "CRLF.CRLF"), so neither "-ERR" nor the terminating
/// dot may follow the message data. Real server, real socket, a client that keeps every octet it reads.
/// </summary>
public class SendBoundGoodbyeTests
{
    // Far more than loopback's send and receive buffers together, so the send is still going when the bound expires.
    private const int MessageSize = 24 * 1024 * 1024;

    private static byte[] LargeMessage()
    {
        var text = new StringBuilder("Subject: big\n\n");
        var line = new string('x', 998) + "\n";
        while (text.Length < MessageSize) text.Append(line);
        return Encoding.ASCII.GetBytes(text.ToString());
    }

    [Fact]
    public async Task A_retr_cut_by_its_send_bound_ends_with_message_data_and_no_goodbye_line()
    {
        // The bound is 30 s + 24 MB at 12 MiB/s, about 32 s; the client reads about 256 KB/s, so the send is cut long
        // before the whole message (about 100 s at that rate). The write timeout stays well above one flush's wait,
        // with room for a client slowed down several times by a loaded machine:
        // the kernel reports a full socket writable only once about a third of its buffer (up to 4 MB on loopback)
        // has drained, some 5 s at this rate, and a write timeout below that would cut the send first ("timed out").
        await using var server = await TestServer.StartAsync(o => o.WriteTimeout = TimeSpan.FromSeconds(30));
        server.Server.CommandDescriptors = new CommandDescriptorGate(1, server.Logs.CreateLogger("Restante.Networking"), TimeSpan.FromSeconds(1),
            server.Server.Metrics.DescriptorSlotRefused, minimumSendRate: 12 * 1024 * 1024);
        server.AddUser("alice", "secret");
        server.Deliver("alice", LargeMessage());

        using var client = new TcpClient();
        await client.ConnectAsync(server.EndPoint);
        var stream = client.GetStream();
        var received = new MemoryStream();
        var chunk = new byte[16 * 1024];
        await SendAsync(stream, "USER alice\r\nPASS secret\r\n");
        await ReadUntilAsync(stream, received, chunk, lines: 3);   // greeting, +OK to USER, +OK to PASS
        Assert.DoesNotContain("-ERR", Encoding.ASCII.GetString(received.ToArray()));
        received.SetLength(0);
        await SendAsync(stream, "RETR 1\r\n");

        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(90);
        var closed = false;
        while (!closed && DateTime.UtcNow < deadline)
        {
            int read;
            try
            {
                using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30));
                read = await stream.ReadAsync(chunk, timeout.Token);
            }
            catch (IOException)
            {
                read = 0;   // reset by the server: closed as well
            }
            catch (OperationCanceledException)
            {
                break;      // 30 s without an octet and still open: reported below as not closed
            }
            if (read == 0) closed = true;
            else received.Write(chunk, 0, read);
            await Task.Delay(62);
        }

        var bytes = received.ToArray();
        Assert.True(closed, $"the server had not closed after 90 s ({bytes.Length} octets read)");
        Assert.True(bytes.Length < MessageSize, $"read {bytes.Length} octets: the whole message, not a cut send");
        Assert.StartsWith("+OK", Encoding.ASCII.GetString(bytes, 0, 3));
        // Everything after the "+OK" line and the header is message data: 'x' lines. A goodbye (or the terminating
        // dot) would show as other octets at the end.
        var tail = Encoding.ASCII.GetString(bytes, bytes.Length - Math.Min(bytes.Length, 4096), Math.Min(bytes.Length, 4096));
        Assert.DoesNotContain("-ERR", tail);
        Assert.DoesNotContain("\r\n.\r\n", tail);
        Assert.True(tail.All(c => c is 'x' or '\r' or '\n'), $"the stream ends with something other than message data: {Escape(tail[^Math.Min(tail.Length, 80)..])}");
        // And it was the send bound that cut it, not the idle or write timeout.
        var logDeadline = DateTime.UtcNow + TimeSpan.FromSeconds(30);
        while (!server.Logs.Lines.Any(l => l.Contains("too slow reading a message", StringComparison.Ordinal)))
        {
            Assert.True(DateTime.UtcNow < logDeadline, "no session ended as too slow reading a message: " + string.Join(" | ", server.Logs.Lines.Where(l => l.Contains("ended", StringComparison.OrdinalIgnoreCase))));
            await Task.Delay(20);
        }
    }

    private static async Task SendAsync(NetworkStream stream, string text) => await stream.WriteAsync(Encoding.ASCII.GetBytes(text));

    private static async Task ReadUntilAsync(NetworkStream stream, MemoryStream received, byte[] chunk, int lines)
    {
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        while (received.ToArray().Count(b => b == (byte)'\n') < lines)
        {
            var read = await stream.ReadAsync(chunk, timeout.Token);
            if (read == 0) throw new IOException("closed before the login finished");
            received.Write(chunk, 0, read);
        }
    }

    private static string Escape(string text) => text.Replace("\r", "\\r", StringComparison.Ordinal).Replace("\n", "\\n", StringComparison.Ordinal);
}
