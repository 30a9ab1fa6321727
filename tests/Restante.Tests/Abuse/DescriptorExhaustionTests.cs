using System.Net;
using System.Net.Sockets;
using Restante.Tests.Infrastructure;

namespace Restante.Tests.Abuse;

/// <summary>
/// Issue 9 §2: 4 × 5,000 idle LMTP connections ran the server out of descriptors, and it died. At
/// EMFILE the .NET runtime aborts ("Out of memory.") as soon as it needs a thread (thread start
/// takes a pipe), so the server must never get there: the connection limits are held within the
/// descriptor limit it finds at start. This runs the real server under a tiny `ulimit -n`.
/// </summary>
public class DescriptorExhaustionTests
{
    [LinuxFact("Needs ulimit -n and /proc/self/fd as on Linux.")]
    public async Task Under_a_low_descriptor_limit_an_lmtp_flood_is_refused_within_the_limit_and_the_server_lives()
    {
        using var data = new TempDirectory();
        File.WriteAllText(Path.Combine(data.Path, "passwd"), "alice:{PLAIN}secret\n");
        // Asked for far more than 600 descriptors can hold.
        await using var server = await ServerProcess.StartAsync(data.Path, port: null, descriptorLimit: 600,
            environment: new Dictionary<string, string> { ["RESTANTE_LMTPCONNECTIONS__MAXCONNECTIONS"] = "1000", ["RESTANTE_MAXCONNECTIONS"] = "50" });
        Assert.Contains(server.Output, l => l.Contains("File descriptor limit 600 (hard 600)", StringComparison.Ordinal));
        var warning = Assert.Single(server.Output, l => l.Contains("File descriptor limit 600 is too low", StringComparison.Ordinal));
        var share = int.Parse(warning.Split(" POP3, ")[1].Split(' ')[0], System.Globalization.CultureInfo.InvariantCulture);
        Assert.InRange(share, 1, 300);

        var flood = new List<Socket>();
        var greeted = 0;
        var refused = 0;
        try
        {
            for (var i = 0; i < 500; i++)
            {
                var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
                await socket.ConnectAsync(IPAddress.Loopback, server.LmtpPort);
                flood.Add(socket);
            }
            foreach (var socket in flood)
            {
                var line = await ReadLineAsync(socket);
                if (line.StartsWith("220 ", StringComparison.Ordinal)) greeted++;
                else if (line.StartsWith("421 4.3.2 ", StringComparison.Ordinal)) refused++;
            }
            Assert.Equal(share, greeted);
            Assert.Equal(500 - share, refused);

            // With LMTP full, POP3 still logs in.
            await using var pop = await server.ConnectAsync();
            await pop.ExpectAsync("+OK");
            await pop.SendAsync("USER alice");
            await pop.ExpectAsync("+OK");
            await pop.SendAsync("PASS secret");
            await pop.ExpectAsync("+OK Logged in");
        }
        finally
        {
            foreach (var socket in flood) socket.Dispose();
        }
        Assert.False(server.HasExited);
        Assert.DoesNotContain(server.Output, l => l.Contains("Accept failing", StringComparison.Ordinal) || l.Contains("Out of memory", StringComparison.Ordinal));
    }

    private static async Task<string> ReadLineAsync(Socket socket)
    {
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        var buffer = new byte[512];
        var length = 0;
        while (length < buffer.Length)
        {
            var read = await socket.ReceiveAsync(buffer.AsMemory(length), SocketFlags.None, timeout.Token);
            if (read == 0) break;
            length += read;
            if (Array.IndexOf(buffer, (byte)'\n', 0, length) >= 0) break;
        }
        return System.Text.Encoding.ASCII.GetString(buffer, 0, length);
    }
}
