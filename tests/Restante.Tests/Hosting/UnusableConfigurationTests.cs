using Restante.Tests.Infrastructure;
using Restante.Tests.Tls;

namespace Restante.Tests.Hosting;

/// <summary>
/// A --config file that cannot be used — unreadable, not JSON, a value that does not convert — is one
/// "Configuration error" line and exit 1 for `serve` and `config check` alike, and a SIGHUP reload of such a
/// file keeps the running configuration and logs one line; all of them ask the same question
/// (ServeConfiguration.IsUnusableFile). The unreadable file is a real one (mode 000): as root the CLI runs
/// without CAP_DAC_OVERRIDE and CAP_DAC_READ_SEARCH (setpriv), so the permission bits apply to it as to anyone.
/// </summary>
[System.Runtime.Versioning.SupportedOSPlatform("linux")]
public sealed class UnusableConfigurationTests
{
    /// <summary>How to start the CLI so a mode-000 file is unreadable to it: as root, without the capabilities that override permissions.</summary>
    private static string[] Unprivileged => Environment.IsPrivilegedProcess
        ? ["setpriv", "--bounding-set=-dac_override,-dac_read_search", "--inh-caps=-dac_override,-dac_read_search", "--"]
        : [];

    /// <summary>
    /// Skips unless a mode-000 file is really unreadable to a program started the way the CLI is: setpriv may be
    /// missing or refused (no CAP_SETPCAP in a container), or a runtime may hand the capabilities back.
    /// </summary>
    private static async Task SkipUnlessPermissionsApplyAsync()
    {
        Skip.IfNot(OperatingSystem.IsLinux(), "POSIX permission bits and SIGHUP: Linux only");
        using var temp = new TempDirectory();
        var probe = WriteUnreadable(temp.Path);
        var (exit, output) = await Processes.RunAsync("env", null, [.. Unprivileged, "cat", probe]);
        Skip.If(exit == 0, "a mode-000 file is readable to a program started like the CLI (root with its capabilities kept)");
        Skip.IfNot(output.Contains("Permission denied", StringComparison.Ordinal),
            $"could not start a program without the capabilities that override permissions: {output.Trim()}");
    }

    private static Task<(int ExitCode, string Output)> RunCliAsync(params string[] arguments)
        => Processes.RunAsync("env", null, [.. Unprivileged, "dotnet", ServerProcess.CliPath, .. arguments]);

    /// <summary>One line on stderr, naming the problem; no stack trace ("   at …").</summary>
    private static void AssertOneConfigurationError(int exit, string output, string problem)
    {
        Assert.True(exit == 1, $"exit {exit}: {output}");
        var lines = output.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.True(lines.Length == 1, output);
        Assert.StartsWith("Configuration error: ", lines[0], StringComparison.Ordinal);
        Assert.Contains(problem, lines[0], StringComparison.Ordinal);
    }

    private static string WriteUnreadable(string directory)
    {
        var path = Path.Combine(directory, "restante.json");
        File.WriteAllText(path, """{ "MaxConnections": 10 }""");
        File.SetUnixFileMode(path, UnixFileMode.None);
        return path;
    }

    [SkippableFact]
    public async Task Config_check_of_an_unreadable_file_is_one_line_and_exit_1()
    {
        await SkipUnlessPermissionsApplyAsync();
        using var temp = new TempDirectory();
        var config = WriteUnreadable(temp.Path);

        var (exit, output) = await RunCliAsync("config", "check", "--config", config, "--data", Path.Combine(temp.Path, "data"));

        AssertOneConfigurationError(exit, output, $"Access to the path '{config}' is denied.");
    }

    [SkippableFact]
    public async Task Serve_with_an_unreadable_file_is_one_line_and_exit_1()
    {
        await SkipUnlessPermissionsApplyAsync();
        using var temp = new TempDirectory();
        var config = WriteUnreadable(temp.Path);

        var (exit, output) = await RunCliAsync("serve", "--config", config, "--data", Path.Combine(temp.Path, "data"),
            "--pop3", $"127.0.0.1:{ServerProcess.FreePort()}", "--lmtp", $"127.0.0.1:{ServerProcess.FreePort()}");

        AssertOneConfigurationError(exit, output, $"Access to the path '{config}' is denied.");
    }

    [Theory]
    [InlineData("""{ "MaxConnections": 10, """, "Failed to load configuration from file")]
    [InlineData("""{ "MaxConnections": "many" }""", "Failed to convert configuration value 'many' at 'MaxConnections'")]
    public async Task Serve_and_config_check_with_a_file_that_does_not_parse_or_convert_are_one_line_and_exit_1(string json, string problem)
    {
        using var temp = new TempDirectory();
        var config = Path.Combine(temp.Path, "restante.json");
        await File.WriteAllTextAsync(config, json);
        var data = Path.Combine(temp.Path, "data");

        var (checkExit, checkOutput) = await Processes.RunAsync("dotnet", null, ServerProcess.CliPath, "config", "check", "--config", config, "--data", data);
        AssertOneConfigurationError(checkExit, checkOutput, problem);

        var (serveExit, serveOutput) = await Processes.RunAsync("dotnet", null, ServerProcess.CliPath, "serve", "--config", config, "--data", data,
            "--pop3", $"127.0.0.1:{ServerProcess.FreePort()}", "--lmtp", $"127.0.0.1:{ServerProcess.FreePort()}");
        AssertOneConfigurationError(serveExit, serveOutput, problem);
        Assert.False(Directory.Exists(Path.Combine(data, "mail")));
    }

    [SkippableFact]
    public async Task A_reload_of_a_file_that_became_unreadable_or_does_not_convert_keeps_the_server_and_logs_one_line_each()
    {
        await SkipUnlessPermissionsApplyAsync();
        using var data = new TempDirectory();
        ServerProcess.Seed(data.Path, "alice", "secret", messages: 1);
        var config = Path.Combine(data.Path, "restante.json");
        const string running = """{ "TrustLoopback": false, "MaxConnectionsPerIp": 2 }""";
        await File.WriteAllTextAsync(config, running);
        await using var server = await ServerProcess.StartUnderAsync(string.Join(' ', ["exec", .. Unprivileged]), data.Path, "--config", config);
        await using var open = await server.LoginAsync("alice", "secret");

        // Unreadable: UnauthorizedAccessException, which the reload's old list (IOException and the parse errors) let through.
        File.SetUnixFileMode(config, UnixFileMode.None);
        await ReloadRefusedAsync(server, $"Access to the path '{config}' is denied.");
        // Readable again, with a value the binder cannot convert: InvalidOperationException from Bind, which ran unguarded.
        File.SetUnixFileMode(config, UnixFileMode.UserRead | UnixFileMode.UserWrite);
        await File.WriteAllTextAsync(config, """{ "TrustLoopback": false, "MaxConnectionsPerIp": "five" }""");
        await ReloadRefusedAsync(server, "Failed to convert configuration value 'five' at 'MaxConnectionsPerIp'");
        Assert.DoesNotContain(server.Output, l => l.Contains("Configuration reloaded", StringComparison.Ordinal));
        Assert.DoesNotContain(server.Output, l => l.Contains("Unhandled exception", StringComparison.Ordinal));

        // Still serving on the old settings: the open session goes on, and the limit of 2 per address still holds.
        await open.SendAsync("STAT");
        await open.ExpectAsync("+OK 1 ");
        await using var second = await server.ConnectAsync();
        await second.ExpectAsync("+OK");
        await using var third = await server.ConnectAsync();
        await third.ExpectAsync("-ERR [SYS/TEMP] Too many connections");
        Assert.False(server.HasExited);

        // Exactly one line per refused reload: counted once the server has exited and its output is closed, so a second
        // line, were one logged, has certainly arrived (no wait for a line that should not come).
        server.Signal("TERM");
        await server.WaitForExitAsync(TimeSpan.FromSeconds(30));
        Assert.Equal(2, server.Output.Count(l => l.Contains("Configuration reload refused", StringComparison.Ordinal)));
        Assert.Equal(2, server.Output.Count(l => l.Contains("SIGHUP: reloading", StringComparison.Ordinal)));
    }

    /// <summary>SIGHUP; a new error line, naming <paramref name="problem"/>.</summary>
    private static async Task ReloadRefusedAsync(ServerProcess server, string problem)
    {
        static int Refusals(ServerProcess s) => s.Output.Count(l => l.Contains("Configuration reload refused", StringComparison.Ordinal));
        var before = Refusals(server);
        var requests = server.Output.Count(l => l.Contains("SIGHUP: reloading", StringComparison.Ordinal));
        server.Signal("HUP");
        Assert.True(await server.WaitForOutputAsync(_ => Refusals(server) > before, TimeSpan.FromSeconds(15)), string.Join("\n", server.Output.TakeLast(30)));
        // No more than one each: checked at the end of the test, once the server's output is closed.
        Assert.Equal(requests + 1, server.Output.Count(l => l.Contains("SIGHUP: reloading", StringComparison.Ordinal)));
        Assert.Contains(server.Output, l => l.Contains("Configuration reload refused", StringComparison.Ordinal) && l.Contains(problem, StringComparison.Ordinal));
    }
}
