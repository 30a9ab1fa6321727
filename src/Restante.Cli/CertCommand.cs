using System.CommandLine;
using Restante.Hosting;
using Restante.Networking;

namespace Restante.Cli;

/// <summary>
/// <c>restante cert dev [--data DIR] [--force]</c>: writes a self-signed certificate for localhost,
/// 127.0.0.1 and ::1 into DATA/tls/ (cert.pem, key.pem), the one `serve` uses when no --tls-cert is
/// given. Exit codes: 0 written, 1 refused (files exist without --force) or failed.
/// </summary>
internal static class CertCommand
{
    /// <param name="dataOption">The root command's recursive --data option.</param>
    public static Command Create(Option<string> dataOption)
    {
        var force = new Option<bool>("--force") { Description = "Replace an existing certificate" };
        var dev = new Command("dev", "Write a self-signed certificate for localhost into DATA/tls/");
        dev.Options.Add(force);
        dev.SetAction(parseResult =>
        {
            var output = parseResult.InvocationConfiguration.Output;
            var error = parseResult.InvocationConfiguration.Error;
            var data = parseResult.GetValue(dataOption);
            var directory = new RestanteOptions { DataDirectory = string.IsNullOrWhiteSpace(data) ? "data" : data }.DevCertificateDirectory;
            if (!parseResult.GetValue(force) && (File.Exists(DevCertificate.CertificatePath(directory)) || File.Exists(DevCertificate.KeyPath(directory))))
            {
                error.WriteLine($"error: {DevCertificate.CertificatePath(directory)} exists; use --force to replace it");
                return 1;
            }
            try
            {
                using var certificate = DevCertificate.Create(directory);
                output.WriteLine($"Wrote {DevCertificate.CertificatePath(directory)} and {DevCertificate.KeyPath(directory)}");
                output.WriteLine($"Subject: {certificate.Subject}; names: localhost, 127.0.0.1, ::1; valid until {certificate.NotAfter.ToUniversalTime():yyyy-MM-dd}");
                output.WriteLine($"SHA-256 fingerprint: {DevCertificate.Fingerprint(certificate)}");
                return 0;
            }
            catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
            {
                error.WriteLine($"error: cannot write {directory}: {ex.Message}");
                return 1;
            }
        });
        var cert = new Command("cert", "TLS certificates");
        cert.Subcommands.Add(dev);
        return cert;
    }
}
