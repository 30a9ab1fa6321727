using System.Net;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;

namespace Restante.Networking;

/// <summary>
/// A self-signed certificate for localhost, 127.0.0.1 and ::1, written as PEM into DATA/tls/ so that
/// STLS and POP3S work out of the box. Clients must be told to trust it (or its fingerprint);
/// production uses real certificate files instead (<c>--tls-cert</c>, <c>--tls-key</c>).
/// </summary>
public static class DevCertificate
{
    public const string CertificateFileName = "cert.pem";
    public const string KeyFileName = "key.pem";

    /// <summary>A year: long enough for development, short enough that a forgotten one does not live forever.</summary>
    public static readonly TimeSpan Lifetime = TimeSpan.FromDays(365);

    public static string CertificatePath(string directory) => Path.Combine(directory, CertificateFileName);

    public static string KeyPath(string directory) => Path.Combine(directory, KeyFileName);

    /// <summary>True when both files exist and the certificate has not expired.</summary>
    public static bool IsUsable(string directory)
    {
        if (!File.Exists(CertificatePath(directory)) || !File.Exists(KeyPath(directory))) return false;
        try
        {
            using var certificate = X509Certificate2.CreateFromPemFile(CertificatePath(directory), KeyPath(directory));
            return certificate.NotAfter.ToUniversalTime() > DateTime.UtcNow;
        }
        catch (CryptographicException)
        {
            return false;
        }
    }

    /// <summary>Writes a new certificate and key (ECDSA P-256) into <paramref name="directory"/>, replacing any there.</summary>
    /// <returns>The new certificate, without its private key.</returns>
    public static X509Certificate2 Create(string directory, TimeProvider? timeProvider = null)
    {
        var now = (timeProvider ?? TimeProvider.System).GetUtcNow();
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var request = new CertificateRequest("CN=localhost, O=Restante development certificate", key, HashAlgorithmName.SHA256);
        var names = new SubjectAlternativeNameBuilder();
        names.AddDnsName("localhost");
        names.AddIpAddress(IPAddress.Loopback);
        names.AddIpAddress(IPAddress.IPv6Loopback);
        request.CertificateExtensions.Add(names.Build());
        request.CertificateExtensions.Add(new X509BasicConstraintsExtension(false, false, 0, true));
        request.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.DigitalSignature, true));
        request.CertificateExtensions.Add(new X509EnhancedKeyUsageExtension([new Oid("1.3.6.1.5.5.7.3.1", "Server Authentication")], false));
        request.CertificateExtensions.Add(new X509SubjectKeyIdentifierExtension(request.PublicKey, false));
        // A day of slack for clocks that are behind.
        using var certificate = request.CreateSelfSigned(now.AddDays(-1), now.Add(Lifetime));

        Directory.CreateDirectory(directory);
        // Key first, certificate last: a server that watches the files never sees a new certificate with an old key.
        WriteAtomically(KeyPath(directory), key.ExportPkcs8PrivateKeyPem(), UnixFileMode.UserRead | UnixFileMode.UserWrite);
        WriteAtomically(CertificatePath(directory), certificate.ExportCertificatePem(),
            UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.GroupRead | UnixFileMode.OtherRead);
        return X509CertificateLoader.LoadCertificate(certificate.RawData);
    }

    /// <summary>"AB:CD:…", the SHA-256 fingerprint as <c>openssl x509 -fingerprint -sha256</c> prints it.</summary>
    public static string Fingerprint(X509Certificate2 certificate)
        => string.Join(':', certificate.GetCertHash(HashAlgorithmName.SHA256).Select(b => b.ToString("X2", System.Globalization.CultureInfo.InvariantCulture)));

    private static void WriteAtomically(string path, string text, UnixFileMode mode)
    {
        var temporary = path + ".tmp";
        // The mode applies only to a file being created, so never reuse a leftover.
        File.Delete(temporary);
        var options = new FileStreamOptions { Mode = FileMode.Create, Access = FileAccess.Write };
        if (!OperatingSystem.IsWindows()) options.UnixCreateMode = mode;
        using (var stream = new FileStream(temporary, options))
        using (var writer = new StreamWriter(stream))
        {
            writer.Write(text);
            writer.Write('\n');
        }
        File.Move(temporary, path, overwrite: true);
    }
}
