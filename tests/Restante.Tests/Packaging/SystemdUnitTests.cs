using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Text;
using Restante.Tests.Infrastructure;

namespace Restante.Tests.Packaging;

/// <summary>packaging/restante.service, and the server's side of Type=notify.</summary>
public sealed class SystemdUnitTests
{
    private static string UnitPath => Path.Combine(RepositoryRoot.Path, "packaging", "restante.service");

    [SkippableFact]
    public async Task The_unit_file_passes_systemd_analyze_verify_without_a_warning()
    {
        Skip.If(FindOnPath("systemd-analyze") is null, "systemd-analyze is not installed (Debian package systemd; test.sh installs it)");
        Skip.IfNot(OperatingSystem.IsLinux(), "systemd is Linux only");
        using var temp = new TempDirectory();
        // verify checks that ExecStart's program exists and is executable; the unit names where an operator
        // installs it, so point it at a stand-in here. Everything else is verified as shipped.
        var standIn = Path.Combine(temp.Path, "restante");
        await File.WriteAllTextAsync(standIn, "#!/bin/sh\n");
        if (OperatingSystem.IsLinux()) File.SetUnixFileMode(standIn, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        var unit = (await File.ReadAllTextAsync(UnitPath)).Replace("ExecStart=/usr/local/bin/restante ", $"ExecStart={standIn} ", StringComparison.Ordinal);
        Assert.Contains($"ExecStart={standIn} serve", unit);
        var copy = Path.Combine(temp.Path, "restante.service");
        await File.WriteAllTextAsync(copy, unit);

        var verify = await ExternalCommand.RunAsync("systemd-analyze", ["verify", copy], workingDirectory: temp.Path);

        // verify exits 0 even for an unknown key or a bad value ("…, ignoring"): any line about the file fails.
        Assert.True(verify.ExitCode == 0, verify.ToString());
        var complaints = (verify.Output + verify.Error).Split('\n').Where(line => line.Contains("restante.service", StringComparison.Ordinal)).ToList();
        Assert.True(complaints.Count == 0, string.Join("\n", complaints));
    }

    [Fact]
    public async Task The_unit_file_asks_for_readiness_notification_and_the_hardening()
    {
        var settings = (await File.ReadAllLinesAsync(UnitPath))
            .Where(line => line.Length > 0 && line[0] != '#' && line.Contains('=', StringComparison.Ordinal))
            .Select(line => line.Split('=', 2))
            .ToLookup(pair => pair[0], pair => pair[1]);

        Assert.Equal("notify", settings["Type"].Single());
        Assert.Equal("restante", settings["User"].Single());
        Assert.Contains("CAP_NET_BIND_SERVICE", settings["AmbientCapabilities"].Single());
        Assert.Equal("strict", settings["ProtectSystem"].Single());
        Assert.Equal("yes", settings["NoNewPrivileges"].Single());
        Assert.Equal("yes", settings["PrivateTmp"].Single());
        Assert.Equal("on-failure", settings["Restart"].Single());
        Assert.Contains("/var/lib/restante", settings["ReadWritePaths"].Single());
        Assert.True(int.Parse(settings["LimitNOFILE"].Single(), System.Globalization.CultureInfo.InvariantCulture) >= 65536);
        Assert.Contains("--data /var/lib/restante", settings["ExecStart"].Single());
    }

    /// <summary>
    /// The hosting library takes the server for a systemd service when its parent process is named "systemd".
    /// A shell started through a link of that name is such a parent; NOTIFY_SOCKET points at a datagram
    /// socket of this test, as systemd's would (sd_notify(3)).
    /// </summary>
    [LinuxFact("Unix datagram sockets and /proc/PID/comm")]
    public async Task Under_systemd_the_server_reports_ready_once_listening_and_logs_for_journald()
    {
        using var temp = new TempDirectory();
        var shell = FindOnPath("bash") ?? throw new InvalidOperationException("no bash");
        var systemd = Path.Combine(temp.Path, "systemd");
        File.CreateSymbolicLink(systemd, shell);
        var notifyPath = Path.Combine(temp.Path, "notify");
        using var notify = new Socket(AddressFamily.Unix, SocketType.Dgram, ProtocolType.Unspecified);
        notify.Bind(new UnixDomainSocketEndPoint(notifyPath));

        var port = ServerProcess.FreePort();
        var start = new ProcessStartInfo(systemd) { RedirectStandardOutput = true, RedirectStandardError = true, RedirectStandardInput = true };
        // Two commands, so the shell forks the server rather than exec-ing into it and stays its parent.
        start.ArgumentList.Add("-c");
        start.ArgumentList.Add("dotnet \"$@\"; exit $?");
        start.ArgumentList.Add("systemd");
        foreach (var argument in new[] { ServerProcess.CliPath, "serve", "--data", Path.Combine(temp.Path, "data"), "--pop3", $"127.0.0.1:{port}" })
            start.ArgumentList.Add(argument);
        start.Environment["RESTANTE_LMTP__0"] = $"127.0.0.1:{ServerProcess.FreePort()}";
        start.Environment["NOTIFY_SOCKET"] = notifyPath;
        CliUnderTest.Apply(start);
        var output = new StringBuilder();
        using var process = Process.Start(start)!;
        process.OutputDataReceived += (_, e) => { lock (output) output.AppendLine(e.Data); };
        process.ErrorDataReceived += (_, e) => { lock (output) output.AppendLine(e.Data); };
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        try
        {
            var buffer = new byte[4096];
            using var limit = new CancellationTokenSource(TimeSpan.FromSeconds(60));
            string message;
            try
            {
                var received = await notify.ReceiveAsync(buffer, SocketFlags.None, limit.Token);
                message = Encoding.ASCII.GetString(buffer, 0, received);
            }
            catch (OperationCanceledException)
            {
                lock (output) throw new TimeoutException("no notification within 60 s:\n" + output);
            }
            Assert.Contains("READY=1", message);

            // Ready means listening: the POP3 port answers now, without waiting.
            using var client = new TcpClient();
            await client.ConnectAsync(IPAddress.Loopback, port);
            using var reader = new StreamReader(client.GetStream(), Encoding.ASCII);
            Assert.StartsWith("+OK", await reader.ReadLineAsync());

            // journald reads a "<N>" syslog priority at the start of each line (sd-daemon(3)); 6 = info.
            string logged;
            lock (output) logged = output.ToString();
            Assert.Contains("<6>", logged);
            Assert.Contains("POP3 listening on", logged);
        }
        finally
        {
            process.Kill(entireProcessTree: true);
            await process.WaitForExitAsync();
        }
    }

    internal static string? FindOnPath(string program) =>
        (Environment.GetEnvironmentVariable("PATH") ?? "").Split(':', StringSplitOptions.RemoveEmptyEntries)
            .Select(directory => Path.Combine(directory, program))
            .FirstOrDefault(File.Exists);
}
