using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Text;
using Restante.Tests.Auth;
using Restante.Tests.Infrastructure;
using Xunit.Abstractions;

namespace Restante.Tests.Abuse;

/// <summary>
/// A flood of wrong passwords for an Argon2id user (64 MiB a hash) against the real server process: memory stays
/// within what the hashing workers can hold, and a newcomer's greeting and a logged-in session are not kept waiting.
/// The process is a child so its peak resident memory (VmHWM) is its own, not the test runner's. The latency bound
/// (2 s) is generous for a loaded 2-core machine; before the fix a greeting waited 31 s.
/// </summary>
[Collection(nameof(TimingCollection))]
public class HashingFloodTests(ITestOutputHelper output)
{
    private const int Workers = 2;
    private const int Flood = 60;
    private const long HashKib = 64 * 1024;

    [Fact]
    public async Task Sixty_concurrent_argon2_failures_keep_memory_bounded_and_greetings_prompt()
    {
        using var data = new Infrastructure.TempDirectory();
        // Dovecot's memory cost (64 MiB); one pass, so the flood drains in reasonable time with the managed Argon2id.
        var argon2 = Argon2TestHash.Create("right", memoryKib: (int)HashKib, passes: 1);
        File.WriteAllText(Path.Combine(data.Path, "passwd"), $"victim:{argon2}\ncarol:{{PLAIN}}secret\n");
        await using var server = await ServerProcess.StartAsync(data.Path, null, new Dictionary<string, string>
        {
            ["RESTANTE_PasswordHashWorkers"] = Workers.ToString(System.Globalization.CultureInfo.InvariantCulture),
            ["RESTANTE_PasswordHashQueue"] = "64",
            ["RESTANTE_AuthFailureDelay"] = "00:00:00.500",
        });
        var endPoint = new IPEndPoint(System.Net.IPAddress.Loopback, server.Port);

        // Warm up: JIT and one Argon2id hash are part of the baseline, not of the flood.
        Assert.StartsWith("-ERR [AUTH]", await WrongPassAsync(endPoint, CancellationToken.None));
        var baselineKib = server.StatusKib("VmHWM");

        await using var carol = await server.ConnectAsync();
        await carol.ExpectAsync("+OK");
        await carol.SendAsync("USER carol");
        await carol.ExpectAsync("+OK");
        await carol.SendAsync("PASS secret");
        await carol.ExpectAsync("+OK Logged in");

        using var cts = new CancellationTokenSource(TimeSpan.FromMinutes(3));
        var flood = Enumerable.Range(0, Flood).Select(_ => WrongPassAsync(endPoint, cts.Token)).ToList();
        await Task.Delay(500);   // let the queue fill

        var greetings = new List<TimeSpan>();
        var commands = new List<TimeSpan>();
        for (var probe = 0; probe < 5 && flood.Any(t => !t.IsCompleted); probe++)
        {
            var watch = Stopwatch.StartNew();
            await using (var fresh = await server.ConnectAsync())
                await fresh.ExpectAsync("+OK");
            greetings.Add(watch.Elapsed);
            watch.Restart();
            await carol.SendAsync("STAT");
            await carol.ExpectAsync("+OK");
            commands.Add(watch.Elapsed);
            await Task.Delay(300);
        }
        Assert.True(flood.Any(t => !t.IsCompleted), "the flood was over before it could be probed; the test measured nothing");

        var replies = await Task.WhenAll(flood);
        var peakKib = server.StatusKib("VmHWM");
        var growthMib = (peakKib - baselineKib) / 1024.0;
        output.WriteLine($"greetings: {string.Join(", ", greetings.Select(g => $"{g.TotalMilliseconds:F0} ms"))}");
        output.WriteLine($"STAT while logged in: {string.Join(", ", commands.Select(g => $"{g.TotalMilliseconds:F0} ms"))}");
        output.WriteLine($"VmHWM {baselineKib / 1024} MiB before, {peakKib / 1024} MiB after: +{growthMib:F0} MiB");
        output.WriteLine($"replies: {string.Join(", ", replies.GroupBy(r => r).Select(g => $"{g.Count()} × {g.Key}"))}");

        Assert.All(replies, r => Assert.True(r.StartsWith("-ERR [AUTH]", StringComparison.Ordinal) || r.StartsWith("-ERR [SYS/TEMP]", StringComparison.Ordinal), r));
        Assert.All(greetings, g => Assert.True(g < TimeSpan.FromSeconds(2), $"a greeting took {g}"));
        Assert.All(commands, g => Assert.True(g < TimeSpan.FromSeconds(2), $"STAT took {g}"));
        // Workers × one hash, plus slack for the garbage collector's timing and the connections themselves.
        var boundMib = Workers * HashKib / 1024 + 160;
        Assert.True(growthMib <= boundMib, $"peak memory grew by {growthMib:F0} MiB, more than {boundMib} MiB");
    }

    /// <summary>USER victim, a wrong PASS, and the reply, with no read timeout: a queued attempt may wait its turn.</summary>
    private static async Task<string> WrongPassAsync(IPEndPoint endPoint, CancellationToken cancellationToken)
    {
        using var client = new TcpClient(AddressFamily.InterNetwork);
        await client.ConnectAsync(endPoint, cancellationToken);
        var stream = client.GetStream();
        using var reader = new StreamReader(stream, Encoding.ASCII);
        await reader.ReadLineAsync(cancellationToken);
        await stream.WriteAsync("USER victim\r\n"u8.ToArray(), cancellationToken);
        await reader.ReadLineAsync(cancellationToken);
        await stream.WriteAsync("PASS wrong\r\n"u8.ToArray(), cancellationToken);
        return await reader.ReadLineAsync(cancellationToken) ?? "(closed)";
    }
}
