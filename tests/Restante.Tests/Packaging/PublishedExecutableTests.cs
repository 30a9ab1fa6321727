using System.Diagnostics;
using Restante.Tests.Infrastructure;

namespace Restante.Tests.Packaging;

/// <summary>
/// A published `restante` (Native AOT or ReadyToRun, packaging/publish.sh) under the process tests:
/// packaging/test-published.sh names it in RESTANTE_TEST_CLI and runs them. These check that the
/// executable really is what they run, and that it sees the same settings as `dotnet Restante.Cli.dll`
/// (a trimmed build once listed 4 of them: the options' properties had been trimmed away).
/// </summary>
public sealed class PublishedExecutableTests
{
    [SkippableFact]
    public async Task The_process_tests_run_the_executable_named_in_RESTANTE_TEST_CLI()
    {
        Skip.If(CliUnderTest.Executable is null, $"{CliUnderTest.Variable} is not set: the process tests run dotnet Restante.Cli.dll (packaging/test-published.sh sets it)");
        using var data = new TempDirectory();
        ServerProcess.Seed(data.Path, "alice", "secret", messages: 1);
        await using var server = await ServerProcess.StartAsync(data.Path);

        Assert.Equal(CliUnderTest.Executable, new FileInfo($"/proc/{server.Pid}/exe").LinkTarget);
        await using var client = await server.LoginAsync("alice", "secret");
        await client.SendAsync("STAT");
        await client.ExpectAsync("+OK 1 ");
    }

    [SkippableFact]
    public async Task Config_check_lists_the_same_settings_as_the_framework_dependent_build()
    {
        Skip.If(CliUnderTest.Executable is null, $"{CliUnderTest.Variable} is not set: there is no published executable to compare");
        using var data = new TempDirectory();
        // Values of each kind the binder handles: a list, a number, a TimeSpan, an enum, nested sections.
        var configPath = Path.Combine(data.Path, "restante.json");
        await File.WriteAllTextAsync(configPath, """
            {
              "Pop3": ["127.0.0.1:1"],
              "MaxConnectionsPerIp": 5,
              "IdleTimeout": "00:30:00",
              "Apop": "Off",
              "TcpKeepAlive": { "Time": "00:02:00" },
              "Sasl": { "Mechanisms": ["PLAIN"] },
              "LoginThrottle": { "MaxFailuresPerIp": 4 }
            }
            """);
        string[] arguments = ["config", "check", "--config", configPath, "--data", data.Path];

        // Not Processes.RunAsync: that one would send `dotnet Restante.Cli.dll` to the executable under test too.
        var framework = await Interop.ExternalClientTests.RunAsync("dotnet", [ServerProcess.CliPath, .. arguments]);
        var published = await Interop.ExternalClientTests.RunAsync(CliUnderTest.Executable, arguments);

        Assert.True(framework.ExitCode == 0, framework.Output);
        Assert.True(framework.Output.Split('\n').Length > 60, framework.Output);
        Assert.Equal(framework.Output, published.Output);
        Assert.Equal(framework.ExitCode, published.ExitCode);
    }

    [Theory]
    [InlineData("BLF-CRYPT")]
    [InlineData("ARGON2ID")]
    [InlineData("SHA512-CRYPT")]
    [InlineData("PBKDF2")]
    public async Task User_add_writes_each_kind_of_password_hash(string scheme)
    {
        // Not AOT-specific, but run by the AOT run too: bcrypt and Argon2 come from NuGet packages that are
        // compiled into the native executable, and the SHA-crypt/PBKDF2 schemes from the runtime's crypto.
        using var data = new TempDirectory();
        await AddAliceAsync(data.Path, scheme);
        Assert.StartsWith("alice:{" + scheme + "}", await File.ReadAllTextAsync(Path.Combine(data.Path, "passwd")), StringComparison.Ordinal);
    }

    // ARGON2ID is left out here: its 64 MiB, 3-pass verification outlasts the 15 s reply timeout on a
    // machine loaded by parallel builds (seen with both builds); the in-process tests log in with it.
    [Theory]
    [InlineData("BLF-CRYPT")]
    [InlineData("SHA512-CRYPT")]
    [InlineData("PBKDF2")]
    public async Task A_user_added_with_each_kind_of_password_hash_logs_in(string scheme)
    {
        using var data = new TempDirectory();
        await AddAliceAsync(data.Path, scheme);
        await using var server = await ServerProcess.StartAsync(data.Path);
        await using var client = await server.LoginAsync("alice", "s3cret");
        await client.SendAsync("STAT");
        await client.ExpectAsync("+OK 0 0");
    }

    private static async Task AddAliceAsync(string data, string scheme)
    {
        var (exit, output) = await Restante.Tests.Tls.Processes.RunAsync("dotnet", "s3cret\n",
            ServerProcess.CliPath, "user", "add", "alice", "--scheme", scheme, "--password-stdin", "--data", data);
        Assert.True(exit == 0, output);
    }
}
