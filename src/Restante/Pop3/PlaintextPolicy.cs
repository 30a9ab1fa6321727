using System.Net;
using System.Net.Sockets;

namespace Restante.Pop3;

/// <summary>
/// Whether a password may be sent in the clear (USER/PASS, SASL PLAIN and LOGIN), the one place that decides it, like
/// Dovecot's disable_plaintext_auth: yes over TLS, yes from a loopback address (the password never crosses a network),
/// yes when <see cref="Pop3Options.AllowPlaintext"/> is set; otherwise no. APOP, CRAM-MD5 and SCRAM never reveal the
/// password and stay allowed.
/// </summary>
internal static class PlaintextPolicy
{
    public static bool Allows(bool secure, bool allowPlaintext, EndPoint? remote) => secure || allowPlaintext || IsLoopback(remote);

    /// <summary>127.0.0.0/8, ::1, and IPv4-mapped loopback; a Unix socket is local too. Unknown: not loopback.</summary>
    private static bool IsLoopback(EndPoint? endPoint) => endPoint switch
    {
        IPEndPoint ip => IPAddress.IsLoopback(ip.Address.IsIPv4MappedToIPv6 ? ip.Address.MapToIPv4() : ip.Address),
        UnixDomainSocketEndPoint => true,
        _ => false,
    };
}
