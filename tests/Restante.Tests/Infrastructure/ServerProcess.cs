using System.Diagnostics;
using System.Net;
using System.Net.Sockets;

namespace Restante.Tests.Infrastructure;

/// <summary>The real `restante` program in its own process, for what only a process can show: signals and restarts.</summary>
internal sealed class ServerProcess : IAsyncDisposable
{
    private readonly Process _process;
    private readonly List<string> _output = [];

    private ServerProcess(Process process, int port, int lmtpPort)
    {
        _process = process;
        Port = port;
        LmtpPort = lmtpPort;
    }

    public int Port { get; }

    /// <summary>The LMTP port: a free one, so parallel servers never collide on the default 2424.</summary>
    public int LmtpPort { get; }

    public int Pid => _process.Id;

    public bool HasExited => _process.HasExited;

    public IReadOnlyList<string> Output
    {
        get
        {
            lock (_output) return _output.ToList();
        }
    }

    /// <summary>
    /// Whether a line matching <paramref name="match"/> appears in the output within <paramref name="timeout"/> (default 10 s).
    /// The server writes its console log from a queue in batches (up to 10 ms apart), so a line logged just before a
    /// reply can reach this process after the reply: wait for it rather than look once.
    /// </summary>
    public async Task<bool> WaitForOutputAsync(Func<string, bool> match, TimeSpan? timeout = null)
    {
        var deadline = DateTime.UtcNow + (timeout ?? TimeSpan.FromSeconds(10));
        while (true)
        {
            if (Output.Any(match)) return true;
            if (DateTime.UtcNow >= deadline) return false;
            await Task.Delay(20);
        }
    }

    public static string CliPath => Path.Combine(AppContext.BaseDirectory, "Restante.Cli.dll");

    public static int FreePort()
    {
        using var probe = new TcpListener(IPAddress.Loopback, 0);
        probe.Start();
        return ((IPEndPoint)probe.LocalEndpoint).Port;
    }

    public static Task<ServerProcess> StartAsync(string dataDirectory, int? port = null, params string[] extra)
        => StartAsync(dataDirectory, port, descriptorLimit: null, environment: null, extra);

    /// <param name="environment">More RESTANTE_* variables (configuration keys), e.g. RESTANTE_PasswordHashWorkers.</param>
    public static Task<ServerProcess> StartAsync(string dataDirectory, int? port, IReadOnlyDictionary<string, string> environment, params string[] extra)
        => StartAsync(dataDirectory, port, descriptorLimit: null, environment.ToDictionary(), extra);

    /// <param name="descriptorLimit">Runs the server under `ulimit -n` (soft and hard) of this many descriptors.</param>
    /// <param name="environment">Extra RESTANTE_* settings.</param>
    public static Task<ServerProcess> StartAsync(string dataDirectory, int? port, int? descriptorLimit, IDictionary<string, string>? environment,
        params string[] extra)
        => StartCoreAsync(dataDirectory, port, descriptorLimit is { } limit ? $"ulimit -n {limit} && exec" : null, environment, extra);

    /// <summary>The server started by a shell as `PREFIX dotnet …`, e.g. "exec setpriv --bounding-set=… --".</summary>
    /// <param name="prefix">Ends in exec (or a program that execs its arguments), so the server is the process this object kills and waits for.</param>
    public static Task<ServerProcess> StartUnderAsync(string prefix, string dataDirectory, params string[] extra)
        => StartCoreAsync(dataDirectory, port: null, prefix, environment: null, extra);

    private static async Task<ServerProcess> StartCoreAsync(string dataDirectory, int? port, string? shellPrefix, IDictionary<string, string>? environment,
        string[] extra)
    {
        var chosen = port ?? FreePort();
        var start = new ProcessStartInfo(shellPrefix is null ? "dotnet" : "bash")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            RedirectStandardInput = true,
        };
        if (shellPrefix is not null)
        {
            start.ArgumentList.Add("-c");
            start.ArgumentList.Add($"{shellPrefix} dotnet \"$@\"");
            start.ArgumentList.Add("bash");
        }
        foreach (var argument in new[] { CliPath, "serve", "--data", dataDirectory, "--pop3", $"127.0.0.1:{chosen}" }.Concat(extra))
            start.ArgumentList.Add(argument);
        var lmtpPort = FreePort();
        start.Environment["RESTANTE_LMTP__0"] = $"127.0.0.1:{lmtpPort}";
        foreach (var (key, value) in environment ?? new Dictionary<string, string>()) start.Environment[key] = value;
        CliUnderTest.Apply(start);
        var process = Process.Start(start)!;
        var server = new ServerProcess(process, chosen, lmtpPort);
        var listening = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        process.OutputDataReceived += (_, e) =>
        {
            if (e.Data is null) return;
            lock (server._output) server._output.Add(e.Data);
            // Every listener (POP3, LMTP, SMTP) is bound before the first of these lines is printed.
            if (e.Data.Contains("POP3 listening on", StringComparison.Ordinal)) listening.TrySetResult();
        };
        process.ErrorDataReceived += (_, e) =>
        {
            if (e.Data is null) return;
            lock (server._output) server._output.Add(e.Data);
        };
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        var exited = process.WaitForExitAsync();
        var first = await Task.WhenAny(listening.Task, exited, Task.Delay(TimeSpan.FromSeconds(60)));
        if (first != listening.Task)
            throw new InvalidOperationException("Server did not start:\n" + string.Join("\n", server.Output));
        return server;
    }

    public async Task<Transcript> ConnectAsync() => await Transcript.ConnectAsync(new IPEndPoint(IPAddress.Loopback, Port));

    /// <summary>A connection logged in with USER/PASS, in TRANSACTION state.</summary>
    public async Task<Transcript> LoginAsync(string user, string password)
    {
        var c = await ConnectAsync();
        await c.ExpectAsync("+OK");
        await c.SendAsync($"USER {user}");
        await c.ExpectAsync("+OK");
        await c.SendAsync($"PASS {password}");
        await c.ExpectAsync("+OK");
        return c;
    }

    /// <summary>Before the server starts: a {PLAIN} passwd line and a Maildir under DATA/mail/USER with <paramref name="messages"/> small messages.</summary>
    public static void Seed(string data, string user, string password, int messages)
    {
        File.AppendAllText(Path.Combine(data, "passwd"), $"{user}:{{PLAIN}}{password}\n");
        var root = Path.Combine(data, "mail", user);
        foreach (var sub in new[] { "tmp", "new", "cur" }) Directory.CreateDirectory(Path.Combine(root, sub));
        for (var i = 0; i < messages; i++)
            File.WriteAllText(Path.Combine(root, "new", $"{1_700_000_000 + i}.M{i}P1.seed"), $"Subject: {i}\n\nbody {i}\n");
    }

    public async Task<Transcript> ConnectLmtpAsync() => await Transcript.ConnectAsync(new IPEndPoint(IPAddress.Loopback, LmtpPort));

    /// <summary>A line of /proc/PID/status in KiB, e.g. "VmHWM" (peak resident memory) or "VmRSS".</summary>
    public long StatusKib(string field)
    {
        foreach (var line in File.ReadLines($"/proc/{Pid}/status"))
        {
            if (!line.StartsWith(field + ":", StringComparison.Ordinal)) continue;
            var digits = new string(line.AsSpan(field.Length + 1).ToArray().Where(char.IsAsciiDigit).ToArray());
            return long.Parse(digits, System.Globalization.CultureInfo.InvariantCulture);
        }
        throw new InvalidOperationException($"/proc/{Pid}/status has no {field}");
    }

    public void Signal(string signal)
    {
        using var kill = Process.Start("kill", ["-" + signal, Pid.ToString(System.Globalization.CultureInfo.InvariantCulture)]);
        kill.WaitForExit();
    }

    public async Task<int> WaitForExitAsync(TimeSpan timeout)
    {
        using var cts = new CancellationTokenSource(timeout);
        await _process.WaitForExitAsync(cts.Token);
        return _process.ExitCode;
    }

    public async ValueTask DisposeAsync()
    {
        if (!_process.HasExited)
        {
            _process.Kill(entireProcessTree: true);
            await _process.WaitForExitAsync();
        }
        _process.Dispose();
    }
}
