using System.Diagnostics;
using System.Net;
using System.Text;
using System.Text.RegularExpressions;

namespace Restante.Tests.Infrastructure;

/// <summary>
/// The real `restante serve` with its standard output (the log) saved to a file byte for byte, as
/// systemd or a shell redirection would keep it, for tests that read the log the way a log tool
/// does. <see cref="ServerProcess"/> reads its output as .NET lines, which would hide a bare CR.
/// </summary>
internal sealed class LoggedServerProcess : IAsyncDisposable
{
    private readonly Process _process;
    private readonly Task _copy;

    private LoggedServerProcess(Process process, Task copy, string logPath, int port, int lmtpPort)
    {
        _process = process;
        _copy = copy;
        LogPath = logPath;
        Port = port;
        LmtpPort = lmtpPort;
    }

    public string LogPath { get; }

    public int Port { get; }

    public int LmtpPort { get; }

    /// <param name="environment">RESTANTE_* settings, e.g. RESTANTE_AuthFailureDelay.</param>
    public static async Task<LoggedServerProcess> StartAsync(string dataDirectory, IReadOnlyDictionary<string, string> environment, params string[] extra)
    {
        var port = ServerProcess.FreePort();
        var lmtpPort = ServerProcess.FreePort();
        var start = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var argument in new[] { ServerProcess.CliPath, "serve", "--data", dataDirectory, "--pop3", $"127.0.0.1:{port}", "--lmtp", $"127.0.0.1:{lmtpPort}" }.Concat(extra))
            start.ArgumentList.Add(argument);
        foreach (var (key, value) in environment) start.Environment[key] = value;
        CliUnderTest.Apply(start);
        var logPath = Path.Combine(dataDirectory, "server.log");
        var process = Process.Start(start)!;
        var copy = CopyAsync(process, logPath);
        var server = new LoggedServerProcess(process, copy, logPath, port, lmtpPort);
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(60);
        while (!server.ReadLog().Contains("POP3 listening on", StringComparison.Ordinal))
        {
            if (process.HasExited || DateTime.UtcNow > deadline)
            {
                await server.DisposeAsync();
                throw new InvalidOperationException("Server did not start:\n" + server.ReadLog());
            }
            await Task.Delay(50);
        }
        return server;
    }

    private static async Task CopyAsync(Process process, string logPath)
    {
        await using var file = new FileStream(logPath, FileMode.Create, FileAccess.Write, FileShare.ReadWrite, 1, useAsync: true);
        var stderr = process.StandardError.BaseStream.CopyToAsync(file);
        await process.StandardOutput.BaseStream.CopyToAsync(file);
        await stderr;
    }

    /// <summary>The log so far, decoded as UTF-8 (the console logger's encoding).</summary>
    public string ReadLog()
    {
        if (!File.Exists(LogPath)) return string.Empty;
        using var stream = new FileStream(LogPath, FileMode.Open, FileAccess.Read, FileShare.ReadWrite);
        using var reader = new StreamReader(stream, Encoding.UTF8);
        return reader.ReadToEnd();
    }

    /// <summary>Waits until the log holds a match of <paramref name="pattern"/> (the logger writes on a background thread).</summary>
    public async Task WaitForLogAsync(Regex pattern)
    {
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(30);
        while (!pattern.IsMatch(ReadLog()))
        {
            if (DateTime.UtcNow > deadline) throw new TimeoutException($"The log never matched {pattern}:\n{ReadLog()}");
            await Task.Delay(50);
        }
    }

    public Task<Transcript> ConnectAsync() => Transcript.ConnectAsync(new IPEndPoint(IPAddress.Loopback, Port));

    public Task<Transcript> ConnectLmtpAsync() => Transcript.ConnectAsync(new IPEndPoint(IPAddress.Loopback, LmtpPort));

    public async ValueTask DisposeAsync()
    {
        if (!_process.HasExited)
        {
            _process.Kill(entireProcessTree: true);
            await _process.WaitForExitAsync();
        }
        await _copy;
        _process.Dispose();
    }
}
