namespace Restante.Tests.Packaging;

/// <summary>packaging/Dockerfile: what it promises (not root, volumes, ports), and that it builds where a container engine runs.</summary>
public sealed class DockerImageTests
{
    private static string DockerfilePath => Path.Combine(RepositoryRoot.Path, "packaging", "Dockerfile");

    [Fact]
    public async Task The_image_runs_as_an_unprivileged_user_with_data_and_certificates_on_volumes()
    {
        var lines = await File.ReadAllLinesAsync(DockerfilePath);
        var finalStage = lines.SkipWhile(line => !line.StartsWith("FROM mcr.microsoft.com/dotnet/runtime-deps", StringComparison.Ordinal)).ToList();
        Assert.NotEmpty(finalStage);
        var user = Assert.Single(finalStage, line => line.StartsWith("USER ", StringComparison.Ordinal));
        Assert.DoesNotContain(user["USER ".Length..].Trim(), new[] { "root", "0", "0:0" });
        var volume = Assert.Single(finalStage, line => line.StartsWith("VOLUME ", StringComparison.Ordinal));
        Assert.Contains("/var/lib/restante", volume);
        Assert.Contains("/etc/restante/tls", volume);
        Assert.Contains(finalStage, line => line.StartsWith("EXPOSE ", StringComparison.Ordinal) && line.Contains("1110") && line.Contains("1995"));
    }

    [SkippableFact]
    public async Task The_image_builds_when_a_container_engine_is_available()
    {
        var engine = await UsableEngineAsync();
        Skip.If(engine.Program is null, $"no usable container engine: {engine.Reason}");
        var tag = $"restante-test:{Guid.NewGuid():N}";
        var build = await ExternalCommand.RunAsync(engine.Program!, ["build", "-f", DockerfilePath, "-t", tag, RepositoryRoot.Path],
            timeout: TimeSpan.FromMinutes(20));
        try
        {
            Assert.True(build.ExitCode == 0, build.ToString());
            var help = await ExternalCommand.RunAsync(engine.Program!, ["run", "--rm", tag, "--help"]);
            Assert.True(help.ExitCode == 0, help.ToString());
            Assert.Contains("serve", help.Output);
        }
        finally
        {
            await ExternalCommand.RunAsync(engine.Program!, ["rmi", "-f", tag]);
        }
    }

    /// <summary>docker or podman whose `info` succeeds; a docker binary without a daemon is not usable.</summary>
    private static async Task<(string? Program, string Reason)> UsableEngineAsync()
    {
        var reasons = new List<string>();
        foreach (var program in new[] { "docker", "podman" })
        {
            if (SystemdUnitTests.FindOnPath(program) is not { } path)
            {
                reasons.Add($"{program} not installed");
                continue;
            }
            var info = await ExternalCommand.RunAsync(path, ["info"], timeout: TimeSpan.FromSeconds(30));
            if (info.ExitCode == 0) return (path, "");
            var why = info.Error.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).LastOrDefault() ?? $"exit {info.ExitCode}";
            reasons.Add($"{program} info failed ({why})");
        }
        return (null, string.Join("; ", reasons));
    }
}
