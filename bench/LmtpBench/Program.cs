using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Text;
using System.Text.Json;

// Deliveries per second over LMTP: N concurrent clients, each on its own connection, each sending
// one message after another (MAIL+RCPT+DATA pipelined, RFC 2920, then the body). Every run is
// bounded in time and prints one JSON line. Traffic goes only to the address given (loopback).
var settings = Settings.Parse(args);
foreach (var size in settings.Sizes)
{
    foreach (var clients in settings.Clients)
    {
        var result = await Runner.RunAsync(settings, clients, size);
        Console.WriteLine(JsonSerializer.Serialize(result, BenchJson.Default.RunResult));
        if (settings.Clean is { } clean) Runner.Clean(clean);
    }
}

internal sealed record Settings(EndPoint Server, string Recipient, TimeSpan Duration, TimeSpan Warmup, int[] Clients, int[] Sizes, string? Clean)
{
    public static Settings Parse(string[] args)
    {
        EndPoint server = new IPEndPoint(IPAddress.Loopback, 2424);
        var recipient = "bench";
        var duration = TimeSpan.FromSeconds(10);
        var warmup = TimeSpan.FromSeconds(1);
        int[] clients = [1, 8, 64];
        int[] sizes = [4 * 1024, 1024 * 1024];
        string? clean = null;
        for (var i = 0; i < args.Length; i++)
        {
            var value = i + 1 < args.Length ? args[i + 1] : throw new ArgumentException($"{args[i]} needs a value");
            switch (args[i])
            {
                case "--server":
                    server = value.StartsWith('/') ? new UnixDomainSocketEndPoint(value) : IPEndPoint.Parse(value);
                    break;
                case "--to": recipient = value; break;
                case "--seconds": duration = TimeSpan.FromSeconds(double.Parse(value, CultureInfo.InvariantCulture)); break;
                case "--warmup": warmup = TimeSpan.FromSeconds(double.Parse(value, CultureInfo.InvariantCulture)); break;
                case "--clients": clients = value.Split(',').Select(int.Parse).ToArray(); break;
                case "--sizes": sizes = value.Split(',').Select(ParseSize).ToArray(); break;
                case "--clean": clean = value; break;
                default: throw new ArgumentException($"unknown option {args[i]}");
            }
            i++;
        }
        return new Settings(server, recipient, duration, warmup, clients, sizes, clean);
    }

    private static int ParseSize(string text) => text.ToUpperInvariant() switch
    {
        var t when t.EndsWith('K') => int.Parse(t[..^1], CultureInfo.InvariantCulture) * 1024,
        var t when t.EndsWith('M') => int.Parse(t[..^1], CultureInfo.InvariantCulture) * 1024 * 1024,
        var t => int.Parse(t, CultureInfo.InvariantCulture),
    };
}

internal sealed record RunResult(
    string Protocol, int Clients, int MessageBytes, double Seconds, long Deliveries, long Errors,
    double DeliveriesPerSecond, double MegabytesPerSecond, double P50Ms, double P99Ms);

[System.Text.Json.Serialization.JsonSourceGenerationOptions(PropertyNamingPolicy = System.Text.Json.Serialization.JsonKnownNamingPolicy.SnakeCaseLower)]
[System.Text.Json.Serialization.JsonSerializable(typeof(RunResult))]
internal sealed partial class BenchJson : System.Text.Json.Serialization.JsonSerializerContext;

internal static class Runner
{
    public static async Task<RunResult> RunAsync(Settings settings, int clients, int size)
    {
        var body = Message(size);
        using var measuring = new ManualResetEventSlim(false);
        using var stop = new CancellationTokenSource();
        var latencies = new List<double>[clients];
        var errors = new long[clients];
        var tasks = new Task[clients];
        for (var i = 0; i < clients; i++)
        {
            latencies[i] = [];
            var index = i;
            tasks[i] = Task.Run(() => ClientAsync(settings, body, measuring, latencies[index], errors, index, stop.Token));
        }
        await Task.Delay(settings.Warmup);
        measuring.Set();
        var clock = Stopwatch.StartNew();
        await Task.Delay(settings.Duration);
        await stop.CancelAsync();
        var seconds = clock.Elapsed.TotalSeconds;
        await Task.WhenAll(tasks);

        var all = latencies.SelectMany(l => l).Order().ToArray();
        var deliveries = all.Length;
        return new RunResult("LMTP", clients, size, Math.Round(seconds, 2), deliveries, errors.Sum(),
            Math.Round(deliveries / seconds, 1), Math.Round(deliveries * (double)size / seconds / (1024 * 1024), 2),
            Math.Round(Percentile(all, 0.50), 2), Math.Round(Percentile(all, 0.99), 2));
    }

    private static double Percentile(double[] sorted, double p) => sorted.Length == 0 ? 0 : sorted[Math.Min(sorted.Length - 1, (int)(p * sorted.Length))];

    /// <summary>A message of exactly <paramref name="size"/> octets as sent: 78-octet lines, no line starting with '.'.</summary>
    private static byte[] Message(int size)
    {
        var text = new StringBuilder(size + 100);
        text.Append("From: bench@example.org\r\nSubject: lmtp bench\r\n\r\n");
        while (text.Length + 78 <= size) text.Append('b', 76).Append("\r\n");
        if (size - text.Length >= 3) text.Append('b', size - text.Length - 2).Append("\r\n");
        return Encoding.ASCII.GetBytes(text.Append(".\r\n").ToString());
    }

    private static async Task ClientAsync(Settings settings, byte[] body, ManualResetEventSlim measuring, List<double> latencies, long[] errors, int index, CancellationToken stop)
    {
        using var socket = new Socket(settings.Server.AddressFamily, SocketType.Stream, settings.Server is IPEndPoint ? ProtocolType.Tcp : ProtocolType.Unspecified);
        await socket.ConnectAsync(settings.Server);
        await using var stream = new NetworkStream(socket, ownsSocket: false);
        var reader = new ReplyReader(stream);
        await reader.ExpectAsync("220");
        await stream.WriteAsync(Encoding.ASCII.GetBytes("LHLO bench.example\r\n"));
        await reader.ExpectAsync("250");
        // SIZE only where announced: Dovecot's LMTP does not take it.
        var size = reader.LastKeywords.Contains("SIZE") ? $" SIZE={body.Length}" : "";
        var envelope = Encoding.ASCII.GetBytes($"MAIL FROM:<bench@example.org>{size}\r\nRCPT TO:<{settings.Recipient}>\r\nDATA\r\n");
        while (!stop.IsCancellationRequested)
        {
            var started = Stopwatch.GetTimestamp();
            await stream.WriteAsync(envelope);
            var ok = await reader.ExpectAsync("250") & await reader.ExpectAsync("250") & await reader.ExpectAsync("354");
            await stream.WriteAsync(body);
            ok &= await reader.ExpectAsync("250");
            if (!measuring.IsSet) continue;
            if (ok) latencies.Add(Stopwatch.GetElapsedTime(started).TotalMilliseconds);
            else Interlocked.Increment(ref errors[index]);
        }
        await stream.WriteAsync(Encoding.ASCII.GetBytes("QUIT\r\n"));
    }

    /// <summary>Empties the recipient's new/ between runs, so a long benchmark does not fill the disk.</summary>
    public static void Clean(string directory)
    {
        foreach (var file in Directory.EnumerateFiles(directory)) File.Delete(file);
    }

    private sealed class ReplyReader(Stream stream)
    {
        private readonly byte[] _buffer = new byte[8192];
        private int _start;
        private int _end;

        /// <summary>Whether the last multi-line reply had a line containing this keyword (LHLO capabilities).</summary>
        public HashSet<string> LastKeywords { get; } = new(StringComparer.OrdinalIgnoreCase);

        /// <summary>Reads one reply (all its lines); true when its code is <paramref name="code"/>.</summary>
        public async Task<bool> ExpectAsync(string code)
        {
            LastKeywords.Clear();
            while (true)
            {
                var line = await ReadLineAsync();
                if (line.Length > 4) LastKeywords.Add(line[4..].Split(' ')[0]);
                if (line.Length < 4 || line[3] == ' ')
                {
                    if (!line.StartsWith(code, StringComparison.Ordinal)) Console.Error.WriteLine($"unexpected reply: {line}");
                    return line.StartsWith(code, StringComparison.Ordinal);
                }
            }
        }

        private async Task<string> ReadLineAsync()
        {
            while (true)
            {
                var lf = Array.IndexOf(_buffer, (byte)'\n', _start, _end - _start);
                if (lf >= 0)
                {
                    var line = Encoding.ASCII.GetString(_buffer, _start, lf - _start).TrimEnd('\r');
                    _start = lf + 1;
                    return line;
                }
                if (_start > 0)
                {
                    Array.Copy(_buffer, _start, _buffer, 0, _end - _start);
                    _end -= _start;
                    _start = 0;
                }
                var read = await stream.ReadAsync(_buffer.AsMemory(_end));
                if (read == 0) throw new IOException("server closed the connection");
                _end += read;
            }
        }
    }
}
