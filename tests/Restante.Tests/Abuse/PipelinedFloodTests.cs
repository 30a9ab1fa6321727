using System.Diagnostics;
using System.Net.Sockets;
using System.Text;
using Microsoft.Extensions.Time.Testing;
using Restante.Networking;
using Restante.Tests.Infrastructure;
using Xunit.Abstractions;

namespace Restante.Tests.Abuse;

/// <summary>
/// Issue 9 §6: a client that pipelines commands and never reads made the server buffer the replies
/// of every batch. The session now stops running commands while more than
/// <see cref="PendingOutput.Limit"/> octets of replies wait, and the write timeout drops it.
/// </summary>
public class PipelinedFloodTests(ITestOutputHelper output)
{
    private const int Commands = 20_000;

    [LinuxFact("Reads the socket queues from /proc/net/tcp.")]
    public async Task Pop3_replies_a_non_reading_client_has_not_taken_stay_bounded_and_the_write_timeout_drops_it()
    {
        var time = new FakeTimeProvider();
        await using var server = await TestServer.StartAsync(o => o.LoginTimeout = TimeSpan.FromHours(1), timeProvider: time);
        var replySize = await MeasureAsync(server, "CAPA", multiLine: true);

        using var flood = await ConnectTinyAsync(server.EndPoint);
        var sending = SendForeverAsync(flood, "CAPA");
        var executed = await SettledCountAsync(() => server.Logs.Lines.Count(l => l.Contains(" CAPA  -> +OK", StringComparison.Ordinal)));
        Report(executed, replySize, flood);
        AssertBounded(executed, replySize, flood);

        // The session sits in a flush the client never lets finish: the write timeout ends it.
        time.Advance(TimeSpan.FromMinutes(2));
        await WaitForAsync(() => server.Server.ActiveSessions == 0);
        Assert.Contains(server.Logs.Lines, l => l.Contains("ended: timed out", StringComparison.Ordinal));
        flood.Dispose();
        await sending;
    }

    [LinuxFact("Reads the socket queues from /proc/net/tcp.")]
    public async Task Lmtp_replies_a_non_reading_client_has_not_taken_stay_bounded_and_the_write_timeout_drops_it()
    {
        var time = new FakeTimeProvider();
        await using var server = await TestServer.StartAsync(timeProvider: time);
        var replySize = await MeasureLmtpAsync(server);

        using var flood = await ConnectTinyAsync(server.LmtpEndPoint);
        var sending = SendForeverAsync(flood, "LHLO flood.example");
        var executed = await SettledCountAsync(() => server.Logs.Lines.Count(l => l.Contains("LHLO flood.example -> 250", StringComparison.Ordinal)));
        Report(executed, replySize, flood);
        AssertBounded(executed, replySize, flood);

        time.Advance(TimeSpan.FromMinutes(2));
        await WaitForAsync(() => server.Logs.Lines.Any(l => l.Contains("ended: timed out", StringComparison.Ordinal)));
        flood.Dispose();
        await sending;
    }

    /// <summary>
    /// The replies the server produced, less what the kernel holds for this connection (the server
    /// socket's send queue, the client socket's receive queue), is what waits in the server process.
    /// </summary>
    private long AssertBounded(int executed, int replySize, Socket flood)
    {
        var local = ((System.Net.IPEndPoint)flood.LocalEndPoint!).Port;
        var remote = ((System.Net.IPEndPoint)flood.RemoteEndPoint!).Port;
        var inKernel = TcpQueues(remote, local).Send + TcpQueues(local, remote).Receive;
        var produced = (long)executed * replySize;
        var pending = produced - inKernel;
        // The greeting and the last reply may straddle the mark.
        var allowed = PendingOutput.Limit + replySize + 512;
        output.WriteLine($"{pending} octets of replies wait in the server ({produced} produced, {inKernel} in socket buffers)");
        Assert.True(pending <= allowed, $"{pending} octets of replies wait in the server ({produced} produced, {inKernel} in socket buffers); at most {allowed} expected");
        return pending;
    }

    private void Report(int executed, int replySize, Socket flood)
        => output.WriteLine($"{executed} replies of {replySize} octets produced ({executed * (long)replySize} octets); client receive buffer {flood.ReceiveBufferSize}");

    /// <summary>tx_queue and rx_queue of the loopback IPv4 socket from <paramref name="localPort"/> to <paramref name="remotePort"/> (/proc/net/tcp).</summary>
    private static (long Send, long Receive) TcpQueues(int localPort, int remotePort)
    {
        var local = $":{localPort:X4}";
        var remote = $":{remotePort:X4}";
        foreach (var line in File.ReadLines("/proc/net/tcp").Skip(1))
        {
            var fields = line.Split(' ', StringSplitOptions.RemoveEmptyEntries);
            if (!fields[1].EndsWith(local, StringComparison.Ordinal) || !fields[2].EndsWith(remote, StringComparison.Ordinal)) continue;
            var queues = fields[4].Split(':');
            return (Convert.ToInt64(queues[0], 16), Convert.ToInt64(queues[1], 16));
        }
        throw new InvalidOperationException($"No socket {localPort} -> {remotePort} in /proc/net/tcp.");
    }

    private static async Task<Socket> ConnectTinyAsync(System.Net.IPEndPoint endPoint)
    {
        var socket = new Socket(endPoint.AddressFamily, SocketType.Stream, ProtocolType.Tcp) { ReceiveBufferSize = 1024 };
        await socket.ConnectAsync(endPoint);
        return socket;
    }

    private static Task SendForeverAsync(Socket socket, string command) => Task.Run(async () =>
    {
        var batch = Encoding.ASCII.GetBytes(string.Concat(Enumerable.Repeat(command + "\r\n", Commands)));
        try
        {
            await socket.SendAsync(batch, SocketFlags.None);
        }
        catch (Exception ex) when (ex is SocketException or ObjectDisposedException)
        {
            // Dropped by the server, or closed by the test: either way the flood is over.
        }
    });

    /// <summary>Polls until the count has not moved for a second.</summary>
    private static async Task<int> SettledCountAsync(Func<int> count)
    {
        var last = -1;
        var since = Stopwatch.StartNew();
        var total = Stopwatch.StartNew();
        while (total.Elapsed < TimeSpan.FromSeconds(60))
        {
            var now = count();
            if (now != last)
            {
                last = now;
                since.Restart();
            }
            else if (now > 0 && since.Elapsed > TimeSpan.FromSeconds(1.5))
            {
                return now;
            }
            await Task.Delay(100);
        }
        return last;
    }

    private static async Task<int> MeasureAsync(TestServer server, string command, bool multiLine)
    {
        await using var c = await server.ConnectAsync();
        await c.ExpectAsync("+OK");
        await c.SendAsync(command);
        var size = (await c.ReadLineAsync())!.Length + 2;
        if (multiLine)
        {
            foreach (var line in await c.ReadMultiLineAsync()) size += line.Length + 2;
            size += 3;
        }
        return size;
    }

    private static async Task<int> MeasureLmtpAsync(TestServer server)
    {
        await using var c = await server.ConnectLmtpAsync();
        await c.ExpectAsync("220 ");
        await c.SendAsync("LHLO flood.example");
        return (await Lmtp.Lmtp.ReadReplyAsync(c)).Sum(l => l.Length + 2);
    }

    private static async Task WaitForAsync(Func<bool> condition)
    {
        var watch = Stopwatch.StartNew();
        while (!condition())
        {
            Assert.True(watch.Elapsed < TimeSpan.FromSeconds(20), "timed out waiting");
            await Task.Delay(50);
        }
    }
}
