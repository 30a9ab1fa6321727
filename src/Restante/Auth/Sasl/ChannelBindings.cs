using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;

namespace Restante.Auth.Sasl;

/// <summary>Channel binding data for the SCRAM -PLUS mechanisms.</summary>
public static class ChannelBindings
{
    /// <summary>
    /// RFC 5929 §4.1 tls-server-end-point: the hash of the server's certificate (DER), with the hash function of the
    /// certificate's signature algorithm, except that MD5 and SHA-1 become SHA-256. Unknown algorithms (EdDSA, which
    /// has no separate hash) also use SHA-256, as OpenSSL and MailKit do.
    /// </summary>
    public static byte[] TlsServerEndPoint(X509Certificate2 certificate)
    {
        ArgumentNullException.ThrowIfNull(certificate);
        var der = certificate.RawData;
        return certificate.SignatureAlgorithm.Value switch
        {
            "1.2.840.113549.1.1.12" or "1.2.840.10045.4.3.3" => SHA384.HashData(der),   // sha384WithRSA, ecdsa-with-SHA384
            "1.2.840.113549.1.1.13" or "1.2.840.10045.4.3.4" => SHA512.HashData(der),   // sha512WithRSA, ecdsa-with-SHA512
            _ => SHA256.HashData(der),
        };
    }
}
