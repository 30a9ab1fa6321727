using System.Security.Authentication;

namespace Restante.Networking;

/// <summary>How a session's end-of-session line names its TLS: "no", or the protocol as OpenSSL and Dovecot write it.</summary>
internal static class TlsProtocolName
{
    public static string Of(SslProtocols protocol, bool secure) => !secure ? "no" : protocol switch
    {
        SslProtocols.Tls13 => "TLSv1.3",
        SslProtocols.Tls12 => "TLSv1.2",
        _ => protocol.ToString(),
    };
}
