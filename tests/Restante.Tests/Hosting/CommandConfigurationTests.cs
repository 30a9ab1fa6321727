using System.Text;
using Restante.Tests.Infrastructure;

namespace Restante.Tests.Hosting;

/// <summary>
/// Every command reads the configuration as `serve` does: the --config file, then RESTANTE_* variables, then the
/// command's options, later winning; a missing or broken file is one line on stderr, not a stack trace.
/// </summary>
public class CommandConfigurationTests
{
    private static Task<(int ExitCode, string Output, string Error)> RunAsync(string[] arguments, Dictionary<string, string>? environment = null, string stdin = "")
        => CliProcess.RunAsync(arguments, Encoding.ASCII.GetBytes(stdin), environment);

    private static string WriteConfig(TempDirectory data, string json)
    {
        var path = Path.Combine(data.Path, "restante.json");
        File.WriteAllText(path, json);
        return path;
    }

    [Fact]
    public async Task Deliver_takes_the_maildir_from_the_file_then_the_environment_then_its_option()
    {
        using var data = new TempDirectory();
        File.WriteAllText(Path.Combine(data.Path, "passwd"), "alice:{PLAIN}secret\n");
        var config = WriteConfig(data, $$"""{ "Maildir": "{{data.Path}}/from-file/%u" }""");
        var environment = new Dictionary<string, string> { ["RESTANTE_MAILDIR"] = $"{data.Path}/from-env/%u" };
        string[] deliver = ["deliver", "--data", data.Path, "-u", "alice", "--config", config];

        var fromFile = await RunAsync(deliver, stdin: "Subject: 1\n\none\n");
        Assert.True(fromFile.ExitCode == 0, fromFile.Error);
        Assert.Single(Directory.GetFiles(Path.Combine(data.Path, "from-file", "alice", "new")));

        var fromEnvironment = await RunAsync(deliver, environment, stdin: "Subject: 2\n\ntwo\n");
        Assert.True(fromEnvironment.ExitCode == 0, fromEnvironment.Error);
        Assert.Single(Directory.GetFiles(Path.Combine(data.Path, "from-env", "alice", "new")));

        var fromOption = await RunAsync([.. deliver, "--maildir", $"{data.Path}/from-option/%u"], environment, stdin: "Subject: 3\n\nthree\n");
        Assert.True(fromOption.ExitCode == 0, fromOption.Error);
        Assert.Single(Directory.GetFiles(Path.Combine(data.Path, "from-option", "alice", "new")));
        Assert.Single(Directory.GetFiles(Path.Combine(data.Path, "from-file", "alice", "new")));
        Assert.False(Directory.Exists(Path.Combine(data.Path, "mail")), "a delivery went to the default DATA/mail/%u");
    }

    [Fact]
    public async Task Purge_takes_the_retention_period_from_the_file_then_the_environment()
    {
        using var data = new TempDirectory();
        var config = WriteConfig(data, """{ "Retention": { "Days": 3 } }""");

        var fromFile = await RunAsync(["purge", "--data", data.Path, "--config", config]);
        Assert.True(fromFile.ExitCode == 0, fromFile.Error);
        Assert.Contains("(Retention:Days 3)", fromFile.Output, StringComparison.Ordinal);

        var fromEnvironment = await RunAsync(["purge", "--data", data.Path, "--config", config], new() { ["RESTANTE_RETENTION__DAYS"] = "4" });
        Assert.True(fromEnvironment.ExitCode == 0, fromEnvironment.Error);
        Assert.Contains("(Retention:Days 4)", fromEnvironment.Output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_control_command_finds_the_socket_the_file_names()
    {
        using var data = new TempDirectory();
        var socket = Path.Combine(data.Path, "elsewhere.ctl");
        var config = WriteConfig(data, $$"""{ "Admin": { "Socket": "{{socket}}" } }""");
        var (exit, _, error) = await RunAsync(["sessions", "--data", data.Path, "--config", config]);
        Assert.Equal(69, exit);   // EX_UNAVAILABLE: nothing listens there
        Assert.Contains($"No server answers on {socket}", error, StringComparison.Ordinal);
    }

    /// <summary>
    /// The commands bind and validate the file as serve does (ServeConfiguration.TryLoad, RestanteSettings.Validate,
    /// ServeConfiguration.OtherProblems): a file
    /// serve refuses is refused by deliver and purge too, with serve's words. They bound RestanteOptions alone, so a log
    /// level that names no level, or a Metrics value that does not convert, went unnoticed until serve met it.
    /// </summary>
    [Theory]
    [InlineData("purge", 1, """{ "Logging": { "LogLevel": { "Default": "Loud" } } }""", "'Loud' at 'Logging:LogLevel:Default' is not a log level")]
    [InlineData("deliver -u alice", 78, """{ "Logging": { "LogLevel": { "Default": "Loud" } } }""", "'Loud' at 'Logging:LogLevel:Default' is not a log level")]
    [InlineData("purge", 1, """{ "Metrics": { "AllowRemote": "maybe" } }""", "Failed to convert configuration value 'maybe' at 'Metrics:AllowRemote'")]
    [InlineData("deliver -u alice", 78, """{ "Metrics": { "AllowRemote": "maybe" } }""", "Failed to convert configuration value 'maybe' at 'Metrics:AllowRemote'")]
    // What serve checks beside the server options (ServeConfiguration.OtherProblems): config check and the commands once let these by.
    [InlineData("purge", 1, """{ "Metrics": { "Listen": "0.0.0.0:9110" } }""", "Metrics:Listen: '0.0.0.0:9110' is not a loopback address")]
    [InlineData("deliver -u alice", 78, """{ "Logging": { "Format": "xml" } }""", "Logging:Format: 'xml' is neither simple nor json")]
    public async Task A_file_serve_refuses_is_refused_with_the_same_words(string command, int expectedExit, string json, string problem)
    {
        using var data = new TempDirectory();
        File.WriteAllText(Path.Combine(data.Path, "passwd"), "alice:{PLAIN}secret\n");
        var config = WriteConfig(data, json);

        var serve = await RunAsync(["config", "check", "--data", data.Path, "--config", config]);
        Assert.Equal(1, serve.ExitCode);
        Assert.Contains(problem, serve.Error, StringComparison.Ordinal);

        var (exit, _, error) = await RunAsync([.. command.Split(' '), "--data", data.Path, "--config", config], stdin: "Subject: x\n\nx\n");
        Assert.True(exit == expectedExit, $"exit {exit}: {error}");
        Assert.StartsWith($"restante {command.Split(" -")[0]}: configuration error: ", error, StringComparison.Ordinal);
        Assert.Contains(problem, error, StringComparison.Ordinal);
        Assert.Single(error.TrimEnd('\n').Split('\n'));
        Assert.False(Directory.Exists(Path.Combine(data.Path, "mail")), "the message was delivered");
    }

    [Theory]
    [InlineData("sessions", 1)]
    [InlineData("throttle list", 1)]
    [InlineData("purge", 1)]
    [InlineData("deliver -u alice", 78)]   // EX_CONFIG: Postfix keeps the message
    public async Task A_missing_or_broken_file_is_one_line_on_stderr(string command, int expectedExit)
    {
        using var data = new TempDirectory();
        var broken = WriteConfig(data, """{ "Admin": """);
        var missing = Path.Combine(data.Path, "missing.json");
        var name = "restante " + command.Split(" -")[0];
        foreach (var (file, says) in new[] { (missing, $"Configuration error: file not found: {missing}"), (broken, $"{name}: configuration error: ") })
        {
            var (exit, _, error) = await RunAsync([.. command.Split(' '), "--data", data.Path, "--config", file]);
            Assert.Equal(expectedExit, exit);
            Assert.StartsWith(says, error, StringComparison.Ordinal);
            Assert.Single(error.TrimEnd('\n').Split('\n'));   // no stack trace
        }
    }
}
