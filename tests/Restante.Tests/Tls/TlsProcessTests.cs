using System.Security.Cryptography.X509Certificates;
using Restante.Networking;
using Restante.Tests.Infrastructure;

namespace Restante.Tests.Tls;

/// <summary>The `restante` program: `cert dev`, and `serve` creating and announcing its certificate.</summary>
public class TlsProcessTests
{
    [Fact]
    public async Task Cert_dev_writes_the_certificate_and_refuses_to_overwrite_without_force()
    {
        using var data = new TempDirectory();
        var (exit, output) = await Processes.RunAsync("dotnet", null, ServerProcess.CliPath, "cert", "dev", "--data", data.Path);
        Assert.True(exit == 0, output);
        var directory = Path.Combine(data.Path, "tls");
        using var certificate = X509Certificate2.CreateFromPemFile(DevCertificate.CertificatePath(directory), DevCertificate.KeyPath(directory));
        Assert.Contains($"SHA-256 fingerprint: {DevCertificate.Fingerprint(certificate)}", output, StringComparison.Ordinal);

        var (again, refusal) = await Processes.RunAsync("dotnet", null, ServerProcess.CliPath, "cert", "dev", "--data", data.Path);
        Assert.Equal(1, again);
        Assert.Contains("--force", refusal, StringComparison.Ordinal);

        var (forced, replaced) = await Processes.RunAsync("dotnet", null, ServerProcess.CliPath, "cert", "dev", "--data", data.Path, "--force");
        Assert.True(forced == 0, replaced);
        using var renewed = X509Certificate2.CreateFromPemFile(DevCertificate.CertificatePath(directory), DevCertificate.KeyPath(directory));
        Assert.NotEqual(certificate.Thumbprint, renewed.Thumbprint);
    }

    [Fact]
    public async Task Serve_creates_a_dev_certificate_prints_its_fingerprint_and_serves_pop3s()
    {
        using var data = new TempDirectory();
        File.WriteAllText(Path.Combine(data.Path, "passwd"), "alice:{PLAIN}secret\n");
        var pop3s = ServerProcess.FreePort();
        await using var server = await ServerProcess.StartAsync(data.Path, null, "--pop3s", $"127.0.0.1:{pop3s}");
        var certificatePath = Path.Combine(data.Path, "tls", "cert.pem");
        using var certificate = X509CertificateLoader.LoadCertificateFromFile(certificatePath);
        Assert.Contains(server.Output, l => l.Contains($"SHA-256 {DevCertificate.Fingerprint(certificate)}", StringComparison.Ordinal));
        Assert.Contains(server.Output, l => l.Contains($"POP3S listening on 127.0.0.1:{pop3s}", StringComparison.Ordinal));

        var (exit, log) = await Processes.RunAsync("curl", null, "-sS", "--max-time", "20", "--cacert", certificatePath,
            $"pop3s://alice:secret@127.0.0.1:{pop3s}/");
        Assert.True(exit == 0, log);
        var (stls, stlsLog) = await Processes.RunAsync("curl", null, "-sS", "--max-time", "20", "--ssl-reqd", "--cacert", certificatePath,
            $"pop3://alice:secret@localhost:{server.Port}/");
        Assert.True(stls == 0, stlsLog);
    }

    [Fact]
    public async Task Serve_refuses_to_start_with_an_unreadable_certificate()
    {
        using var data = new TempDirectory();
        var missing = Path.Combine(data.Path, "missing.pem");
        var (exit, output) = await Processes.RunAsync("dotnet", null, ServerProcess.CliPath, "serve", "--data", data.Path,
            "--pop3", $"127.0.0.1:{ServerProcess.FreePort()}", "--tls-cert", missing);
        Assert.Equal(1, exit);
        Assert.Contains($"Cannot start: TlsCertificate: cannot load {missing}", output, StringComparison.Ordinal);
    }
}
