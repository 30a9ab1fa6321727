using Restante.Tests.Infrastructure;
using Restante.Tests.Tls;

namespace Restante.Tests.Hosting;

/// <summary>`restante config check` as an operator runs it: the CLI process, a file, the environment, options.</summary>
public sealed class ConfigCheckTests
{
    private static Task<(int ExitCode, string Output)> CheckAsync(IEnumerable<string> environment, params string[] arguments)
        => Processes.RunAsync("env", null, [.. environment, "dotnet", ServerProcess.CliPath, "config", "check", .. arguments]);

    private static string LineOf(string output, string key)
        => output.Split('\n').Single(l => l.StartsWith(key + " ", StringComparison.Ordinal));

    [Fact]
    public async Task A_valid_configuration_prints_every_effective_value_with_its_source_and_starts_nothing()
    {
        using var temp = new TempDirectory();
        var configPath = Path.Combine(temp.Path, "restante.json");
        var port = ServerProcess.FreePort();
        await File.WriteAllTextAsync(configPath, $$"""
            {
              "Pop3": ["127.0.0.1:{{port}}"],
              "MaxConnectionsPerIp": 5,
              "Postgres": { "ConnectionString": "Host=db;Username=restante;Password=hunter2" }
            }
            """);
        var data = Path.Combine(temp.Path, "data");

        var (exit, output) = await CheckAsync(["RESTANTE_LoginThrottle__MaxFailuresPerIp=4"],
            "--config", configPath, "--data", data, "--store", "memory");

        Assert.True(exit == 0, output);
        Assert.Contains("= 5  (file " + configPath + ")", LineOf(output, "MaxConnectionsPerIp"), StringComparison.Ordinal);
        Assert.Contains($"= 127.0.0.1:{port}  (file {configPath})", LineOf(output, "Pop3"), StringComparison.Ordinal);
        Assert.Contains("= 4  (environment RESTANTE_LoginThrottle__MaxFailuresPerIp)", LineOf(output, "LoginThrottle:MaxFailuresPerIp"), StringComparison.Ordinal);
        Assert.Contains("= memory  (command line)", LineOf(output, "Store"), StringComparison.Ordinal);
        Assert.Contains($"= {data}  (command line)", LineOf(output, "DataDirectory"), StringComparison.Ordinal);
        Assert.Contains("= 10000  (default)", LineOf(output, "MaxConnections"), StringComparison.Ordinal);
        Assert.Contains($"= {Path.Combine(data, "passwd")}  (default)", LineOf(output, "PasswdFile"), StringComparison.Ordinal);
        Assert.Contains("= Information  (default)", LineOf(output, "Logging:LogLevel:Default"), StringComparison.Ordinal);
        Assert.Contains("Password=***", LineOf(output, "Postgres:ConnectionString"), StringComparison.Ordinal);
        Assert.DoesNotContain("hunter2", output, StringComparison.Ordinal);
        Assert.Contains("Configuration is valid.", output, StringComparison.Ordinal);
        // Nothing was started or created: no data directory, the configured port is free.
        Assert.False(Directory.Exists(data));
        using var probe = new System.Net.Sockets.TcpListener(System.Net.IPAddress.Loopback, port);
        probe.Start();
    }

    [Theory]
    [InlineData("""{ "Pop3": ["mail.example.org:110"] }""", "Pop3: 'mail.example.org' in 'mail.example.org:110' is not an IP address")]
    [InlineData("""{ "TlsCertificate": "/nonexistent/fullchain.pem" }""", "TlsCertificate: cannot load /nonexistent/fullchain.pem")]
    [InlineData("""{ "Store": "mongo" }""", "Store: 'mongo' is not a known store; this program knows maildir, memory, mbox, postgres")]
    [InlineData("""{ "MaxConnectionsPerIp": 0 }""", "MaxConnectionsPerIp must be at least 1")]
    [InlineData("""{ "LoginThrottle": { "MaxTrackedKeys": 5 } }""", "LoginThrottle:MaxTrackedKeys must be at least 100")]
    [InlineData("""{ "MaxConnections": 10, """, "Failed to load configuration from file")]
    public async Task An_invalid_configuration_exits_non_zero_naming_the_problem(string json, string problem)
    {
        using var temp = new TempDirectory();
        var configPath = Path.Combine(temp.Path, "restante.json");
        await File.WriteAllTextAsync(configPath, json);

        var (exit, output) = await CheckAsync([], "--config", configPath, "--data", Path.Combine(temp.Path, "data"));

        Assert.Equal(1, exit);
        Assert.Contains("Configuration error: " + problem, output, StringComparison.Ordinal);
        Assert.DoesNotContain("Configuration is valid.", output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_missing_file_is_an_error()
    {
        using var temp = new TempDirectory();
        var (exit, output) = await CheckAsync([], "--config", Path.Combine(temp.Path, "absent.json"));
        Assert.Equal(1, exit);
        Assert.Contains("Configuration error: file not found: " + Path.Combine(temp.Path, "absent.json"), output, StringComparison.Ordinal);
    }
}
