using Restante.Tests.Infrastructure;

namespace Restante.Tests.Packaging;

/// <summary>
/// The `restante` command as an operator installs it: the Cli project packed as a .NET tool, installed with
/// `dotnet tool install` into a tool path, and run by its command name.
/// </summary>
public sealed class ToolInstallTests
{
    [Fact]
    public async Task The_packed_tool_installs_as_restante_and_runs()
    {
        using var temp = new TempDirectory();
        var feed = Path.Combine(temp.Path, "feed");
        var tools = Path.Combine(temp.Path, "tools");

        var pack = await ExternalCommand.RunAsync("dotnet",
            ["pack", Path.Combine(RepositoryRoot.Path, "src", "Restante.Cli"), "--no-build", "-c", RepositoryRoot.Configuration, "-o", feed]);
        Assert.True(pack.ExitCode == 0, pack.ToString());
        Assert.Single(Directory.GetFiles(feed, "Restante.Cli.*.nupkg"));

        // Only the local feed: a package of the same name elsewhere must not be what gets installed.
        var config = Path.Combine(temp.Path, "nuget.config");
        await File.WriteAllTextAsync(config, $"""
            <?xml version="1.0" encoding="utf-8"?>
            <configuration>
              <packageSources>
                <clear />
                <add key="local" value="{feed}" />
              </packageSources>
            </configuration>
            """);
        var install = await ExternalCommand.RunAsync("dotnet",
            ["tool", "install", "--tool-path", tools, "--configfile", config, "Restante.Cli"], workingDirectory: temp.Path);
        Assert.True(install.ExitCode == 0, install.ToString());

        var restante = Path.Combine(tools, "restante");
        Assert.True(File.Exists(restante), $"no {restante} after install:\n{install}");

        var help = await ExternalCommand.RunAsync(restante, ["--help"]);
        Assert.True(help.ExitCode == 0, help.ToString());
        Assert.Contains("Usage:", help.Output);
        Assert.Contains("serve", help.Output);
        // The shim runs Restante.Cli.dll; the help still names the command the README uses.
        Assert.Contains("  restante [command] [options]", help.Output);
        Assert.DoesNotContain("Restante.Cli", help.Output);

        var pw = await ExternalCommand.RunAsync(restante, ["pw", "--scheme", "SHA512-CRYPT"], standardInput: "correct horse\n");
        Assert.True(pw.ExitCode == 0, pw.ToString());
        Assert.StartsWith("{SHA512-CRYPT}$6$", pw.Output.Trim());
    }
}
