using System.Net;
using System.Security.Cryptography.X509Certificates;
using Microsoft.Extensions.Logging;
using Restante.Networking;
using Restante.Tests.Infrastructure;

namespace Restante.Tests.Tls;

/// <summary>The development certificate, PEM loading, and reloading certificates under a running server.</summary>
public class CertificateTests
{
    private static (CapturingLoggerProvider Logs, ILogger Logger) Logger()
    {
        var logs = new CapturingLoggerProvider();
        return (logs, LoggerFactory.Create(b => b.AddProvider(logs)).CreateLogger("test"));
    }

    [Fact]
    public void Dev_certificate_names_localhost_and_both_loopback_addresses_and_keeps_its_key_private()
    {
        using var dir = new TempDirectory();
        using var created = DevCertificate.Create(dir.Path);
        using var loaded = X509Certificate2.CreateFromPemFile(DevCertificate.CertificatePath(dir.Path), DevCertificate.KeyPath(dir.Path));
        Assert.True(loaded.HasPrivateKey);
        Assert.Equal(created.Thumbprint, loaded.Thumbprint);
        Assert.True(loaded.MatchesHostname("localhost"));
        Assert.True(loaded.MatchesHostname("127.0.0.1"));
        Assert.True(loaded.MatchesHostname("::1"));
        Assert.False(loaded.MatchesHostname("example.com"));
        Assert.Contains(loaded.Extensions.OfType<X509EnhancedKeyUsageExtension>().Single().EnhancedKeyUsages.Cast<System.Security.Cryptography.Oid>(), o => o.Value == "1.3.6.1.5.5.7.3.1");
        if (!OperatingSystem.IsWindows())
            Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(DevCertificate.KeyPath(dir.Path)));
        Assert.True(DevCertificate.IsUsable(dir.Path));
        Assert.Matches("^([0-9A-F]{2}:){31}[0-9A-F]{2}$", DevCertificate.Fingerprint(loaded));
    }

    [Fact]
    public void A_missing_or_broken_file_at_start_names_the_file()
    {
        using var dir = new TempDirectory();
        var (_, logger) = Logger();
        var missing = Path.Combine(dir.Path, "nope.pem");
        var ex = Assert.Throws<InvalidOperationException>(() => new CertificateProvider(missing, null, logger));
        Assert.Contains(missing, ex.Message, StringComparison.Ordinal);

        using var _ = DevCertificate.Create(dir.Path);
        var ex2 = Assert.Throws<InvalidOperationException>(() => new CertificateProvider(DevCertificate.CertificatePath(dir.Path), null, logger));
        Assert.StartsWith("TlsCertificate:", ex2.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Key_and_certificate_in_one_file_load()
    {
        using var dir = new TempDirectory();
        using var _ = DevCertificate.Create(dir.Path);
        var combined = Path.Combine(dir.Path, "combined.pem");
        File.WriteAllText(combined, File.ReadAllText(DevCertificate.CertificatePath(dir.Path)) + File.ReadAllText(DevCertificate.KeyPath(dir.Path)));
        var provider = new CertificateProvider(combined, null, Logger().Logger);
        Assert.True(provider.Current.Certificate.HasPrivateKey);
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public void Handshake_options_are_built_once_per_certificate_and_a_reload_brings_new_ones(bool resumption)
    {
        // Every handshake with one certificate shares one options object, holding the context made when the
        // certificate was loaded: no per-connection certificate work. A reload must not hand out the old ones.
        using var dir = new TempDirectory();
        var a = Path.Combine(dir.Path, "a");
        var b = Path.Combine(dir.Path, "b");
        using var first = DevCertificate.Create(a);
        using var second = DevCertificate.Create(b);
        var provider = new CertificateProvider(DevCertificate.CertificatePath(a), DevCertificate.KeyPath(a), Logger().Logger) { AllowResumption = resumption };

        var options = provider.ServerOptions(provider.Current);
        Assert.Same(options, provider.ServerOptions(provider.Current));
        Assert.Same(provider.Current.Context, options.ServerCertificateContext);
        Assert.Equal(first.Thumbprint, options.ServerCertificateContext!.TargetCertificate.Thumbprint);
        Assert.Equal(resumption, options.AllowTlsResume);

        Assert.True(provider.TryReload(DevCertificate.CertificatePath(b), DevCertificate.KeyPath(b), out var error), error);
        var reloaded = provider.ServerOptions(provider.Current);
        Assert.NotSame(options, reloaded);
        Assert.Equal(second.Thumbprint, reloaded.ServerCertificateContext!.TargetCertificate.Thumbprint);
        Assert.Equal(resumption, reloaded.AllowTlsResume);
    }

    [Fact]
    public void Changed_files_are_reloaded_bad_ones_keep_the_old_certificate_and_symlink_swaps_count()
    {
        using var dir = new TempDirectory();
        var a = Path.Combine(dir.Path, "a");
        var b = Path.Combine(dir.Path, "b");
        using var first = DevCertificate.Create(a);
        using var second = DevCertificate.Create(b);
        var live = Path.Combine(dir.Path, "live");
        Directory.CreateDirectory(live);
        // certbot's layout: live/*.pem are symlinks into archive/, switched at renewal.
        var certLink = Path.Combine(live, "fullchain.pem");
        var keyLink = Path.Combine(live, "privkey.pem");
        File.CreateSymbolicLink(certLink, DevCertificate.CertificatePath(a));
        File.CreateSymbolicLink(keyLink, DevCertificate.KeyPath(a));
        var (logs, logger) = Logger();
        var provider = new CertificateProvider(certLink, keyLink, logger) { CheckInterval = TimeSpan.Zero };
        Assert.Equal(first.Thumbprint, provider.Current.Certificate.Thumbprint);

        File.Delete(certLink);
        File.Delete(keyLink);
        File.CreateSymbolicLink(keyLink, DevCertificate.KeyPath(b));
        File.CreateSymbolicLink(certLink, DevCertificate.CertificatePath(b));
        Assert.Equal(second.Thumbprint, provider.Current.Certificate.Thumbprint);
        Assert.Contains(logs.Lines, l => l.Contains("reloaded", StringComparison.Ordinal));

        // A half-done renewal: the new key does not match the certificate. The old one stays, one error.
        File.Delete(keyLink);
        File.CreateSymbolicLink(keyLink, DevCertificate.KeyPath(a));
        Assert.Equal(second.Thumbprint, provider.Current.Certificate.Thumbprint);
        Assert.Equal(second.Thumbprint, provider.Current.Certificate.Thumbprint);
        Assert.Single(logs.Lines, l => l.StartsWith("Error", StringComparison.Ordinal) && l.Contains("keeping the certificate", StringComparison.Ordinal));
    }

    [Fact]
    public void Files_are_not_looked_at_more_often_than_the_check_interval()
    {
        using var dir = new TempDirectory();
        using var first = DevCertificate.Create(dir.Path);
        var time = new Microsoft.Extensions.Time.Testing.FakeTimeProvider();
        var provider = new CertificateProvider(DevCertificate.CertificatePath(dir.Path), DevCertificate.KeyPath(dir.Path), Logger().Logger, time)
        {
            CheckInterval = TimeSpan.FromSeconds(5),
        };
        using var second = DevCertificate.Create(dir.Path);
        time.Advance(TimeSpan.FromSeconds(1));
        Assert.Equal(first.Thumbprint, provider.Current.Certificate.Thumbprint);
        time.Advance(TimeSpan.FromSeconds(5));
        Assert.Equal(second.Thumbprint, provider.Current.Certificate.Thumbprint);
    }

    [Fact]
    public async Task A_renewed_certificate_is_served_to_new_connections_while_established_sessions_go_on()
    {
        using var certs = new TempDirectory();
        using var first = DevCertificate.Create(Path.Combine(certs.Path, "a"));
        using var second = DevCertificate.Create(Path.Combine(certs.Path, "b"));
        var certFile = Path.Combine(certs.Path, "server.pem");
        var keyFile = Path.Combine(certs.Path, "server.key");
        File.Copy(DevCertificate.CertificatePath(Path.Combine(certs.Path, "a")), certFile);
        File.Copy(DevCertificate.KeyPath(Path.Combine(certs.Path, "a")), keyFile);

        await using var server = await TestServer.StartAsync(configureServer: o =>
        {
            o.Pop3s = ["127.0.0.1:0"];
            o.TlsCertificate = certFile;
            o.TlsKey = keyFile;
        });
        server.Server.Certificates!.CheckInterval = TimeSpan.Zero;
        server.AddUser("alice", "secret");
        server.Deliver("alice", "Subject: x\n\nbody\n");
        var pop3s = server.Server.Pop3sEndPoints[0];
        Assert.False(Directory.Exists(Path.Combine(server.Data.Path, "tls")));

        var seen = new List<string>();
        System.Net.Security.RemoteCertificateValidationCallback record = (_, certificate, _, _) =>
        {
            seen.Add(certificate!.GetCertHashString());
            return true;
        };
        await using var established = await Transcript.ConnectTlsAsync(pop3s, record);
        await established.ExpectAsync("+OK");
        await established.SendAsync("USER alice");
        await established.ExpectAsync("+OK");
        await established.SendAsync("PASS secret");
        await established.ExpectAsync("+OK Logged in");

        // A renewal as a deploy hook would do it: replace both files.
        File.Copy(DevCertificate.KeyPath(Path.Combine(certs.Path, "b")), keyFile, overwrite: true);
        File.Copy(DevCertificate.CertificatePath(Path.Combine(certs.Path, "b")), certFile, overwrite: true);

        await using var renewed = await Transcript.ConnectTlsAsync(pop3s, record);
        await renewed.ExpectAsync("+OK");
        Assert.Equal([first.Thumbprint, second.Thumbprint], seen);

        await established.SendAsync("RETR 1");
        await established.ExpectAsync("+OK");
        Assert.Equal(new[] { "Subject: x", "", "body" }, await established.ReadMultiLineAsync());
        await established.SendAsync("QUIT");
        await established.ExpectAsync("+OK");

        // A broken file keeps the renewed certificate.
        await File.WriteAllTextAsync(certFile, "-----BEGIN CERTIFICATE-----\nbroken\n-----END CERTIFICATE-----\n");
        await using var afterBreak = await Transcript.ConnectTlsAsync(pop3s, record);
        await afterBreak.ExpectAsync("+OK");
        Assert.Equal(second.Thumbprint, seen[^1]);
        Assert.Contains(server.Logs.Lines, l => l.StartsWith("Error", StringComparison.Ordinal) && l.Contains("cannot be loaded", StringComparison.Ordinal));
        Assert.True(IPAddress.IsLoopback(pop3s.Address));
    }

    [Fact]
    public async Task The_embedded_default_creates_the_dev_certificate_once_and_reuses_it()
    {
        using var data = new TempDirectory();
        var options = new Restante.Hosting.RestanteOptions { DataDirectory = data.Path, Pop3 = ["127.0.0.1:0"], Fsync = false };
        string thumbprint;
        await using (var server = new Restante.Hosting.Pop3Server(options, new Restante.Pop3.Pop3Options()))
        {
            thumbprint = server.Certificates!.Current.Certificate.Thumbprint;
            Assert.Equal(Path.Combine(data.Path, "tls", "cert.pem"), server.Certificates.CertificatePath);
        }
        await using (var again = new Restante.Hosting.Pop3Server(options, new Restante.Pop3.Pop3Options()))
        {
            Assert.Equal(thumbprint, again.Certificates!.Current.Certificate.Thumbprint);
        }
    }
}
