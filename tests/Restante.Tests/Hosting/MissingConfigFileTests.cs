using System.Text;
using Restante.Tests.Infrastructure;

namespace Restante.Tests.Hosting;

/// <summary>
/// A --config file that is not there is the same one line on stderr from every command that takes --config
/// (ConfigFile.IsMissing), and a non-zero exit: it was three checks with three wordings, and db migrate, the user
/// commands and migrate maildir-to-postgres had none (the configuration reader's exception text, or no --config at all).
/// </summary>
public sealed class MissingConfigFileTests
{
    [Theory]
    [InlineData("serve", 1)]
    [InlineData("config check", 1)]
    [InlineData("db migrate", 1)]
    [InlineData("user list", 1)]
    [InlineData("user add alice --password-stdin", 1)]
    [InlineData("user del alice", 1)]
    [InlineData("deliver -u alice", 78)]   // EX_CONFIG, as for any other configuration error of deliver
    [InlineData("purge", 1)]
    [InlineData("restore alice", 1)]
    [InlineData("sessions", 1)]
    [InlineData("throttle list", 1)]
    [InlineData("migrate maildir-to-postgres", 1)]
    public async Task Every_command_says_the_same_line_and_fails(string command, int expectedExit)
    {
        using var data = new TempDirectory();
        var missing = Path.Combine(data.Path, "missing.json");

        var (exit, output, error) = await CliProcess.RunAsync([.. command.Split(' '), "--data", data.Path, "--config", missing],
            Encoding.ASCII.GetBytes("Subject: x\n\nx\n"));

        Assert.True(exit == expectedExit, $"exit {exit}: {error}");
        Assert.Equal($"Configuration error: file not found: {missing}", error.TrimEnd('\n'));
        Assert.Equal("", output);
        Assert.False(Directory.Exists(Path.Combine(data.Path, "mail")));
        Assert.False(File.Exists(Path.Combine(data.Path, "passwd")));
    }
}
