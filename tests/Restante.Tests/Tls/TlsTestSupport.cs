using System.Diagnostics;
using System.Net;
using System.Net.NetworkInformation;
using System.Net.Sockets;

namespace Restante.Tests.Tls;

/// <summary>
/// A local address outside 127.0.0.0/8, so a test can really connect from a non-loopback source.
/// Preferred: the dummy interface test.sh creates when it runs as root
/// (<c>ip link add restante0 type dummy; ip addr add 10.77.0.1/32 dev restante0</c>); otherwise any
/// other address of this host's own interfaces (the kernel delivers such traffic locally, it never
/// leaves the machine). None at all: the tests that need one are skipped, saying why.
/// </summary>
internal static class NonLoopback
{
    public const string DummyInterface = "restante0";

    private static readonly Lazy<IPAddress?> s_address = new(Find);

    public static IPAddress? Address => s_address.Value;

    private static IPAddress? Find()
    {
        var candidates = NetworkInterface.GetAllNetworkInterfaces()
            .Where(n => n.OperationalStatus is OperationalStatus.Up or OperationalStatus.Unknown && n.NetworkInterfaceType != NetworkInterfaceType.Loopback)
            .OrderBy(n => n.Name == DummyInterface ? 0 : 1)
            .SelectMany(n => n.GetIPProperties().UnicastAddresses.Select(a => a.Address))
            .Where(a => a.AddressFamily == AddressFamily.InterNetwork && !IPAddress.IsLoopback(a))
            .Where(a => !a.ToString().StartsWith("169.254.", StringComparison.Ordinal));
        foreach (var address in candidates)
        {
            // Usable only if we can really bind it (a container may list addresses it cannot use).
            try
            {
                using var probe = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
                probe.Bind(new IPEndPoint(address, 0));
                return address;
            }
            catch (SocketException)
            {
            }
        }
        return null;
    }
}

/// <summary>A fact that needs <see cref="NonLoopback.Address"/>; skipped with the reason when there is none.</summary>
public sealed class NonLoopbackFactAttribute : FactAttribute
{
    public NonLoopbackFactAttribute()
    {
        if (NonLoopback.Address is null)
            Skip = $"No non-loopback local IPv4 address to test from; run test.sh as root (it adds the dummy interface {NonLoopback.DummyInterface}) or add one.";
    }
}

/// <summary>A fact that needs an openssl s_client able to offer TLS 1.1 (OpenSSL built without it cannot even try).</summary>
public sealed class OpensslTls11FactAttribute : FactAttribute
{
    private static readonly Lazy<string?> s_problem = new(Probe);

    public OpensslTls11FactAttribute()
    {
        if (s_problem.Value is { } problem) Skip = problem;
    }

    private static string? Probe()
    {
        try
        {
            var start = new ProcessStartInfo("openssl", "s_client -help") { RedirectStandardOutput = true, RedirectStandardError = true };
            using var process = Process.Start(start)!;
            var help = process.StandardOutput.ReadToEnd() + process.StandardError.ReadToEnd();
            process.WaitForExit();
            return help.Contains("-tls1_1", StringComparison.Ordinal) ? null : "This openssl has no TLS 1.1 support, so it cannot offer TLS 1.1 to be refused.";
        }
        catch (System.ComponentModel.Win32Exception)
        {
            return "openssl is not installed.";
        }
    }
}

internal static class Processes
{
    /// <summary>Runs a program with optional standard input; returns its exit code and stdout+stderr.</summary>
    public static async Task<(int ExitCode, string Output)> RunAsync(string program, string? stdin, params string[] arguments)
    {
        var start = new ProcessStartInfo(program) { RedirectStandardOutput = true, RedirectStandardError = true, RedirectStandardInput = true };
        foreach (var argument in arguments) start.ArgumentList.Add(argument);
        Restante.Tests.Infrastructure.CliUnderTest.Apply(start);
        using var process = Process.Start(start)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        if (stdin is not null) await process.StandardInput.WriteAsync(stdin);
        process.StandardInput.Close();
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        try
        {
            await process.WaitForExitAsync(timeout.Token);
        }
        catch (OperationCanceledException)
        {
            process.Kill(entireProcessTree: true);
            throw;
        }
        return (process.ExitCode, await stdout + await stderr);
    }
}
