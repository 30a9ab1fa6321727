using Restante.Networking;

namespace Restante.Pop3;

/// <summary>
/// The POP3 side of a TLS upgrade, STLS (RFC 2595 §4) or POP3S (RFC 8314 §3.3); the handshake itself and the new
/// pipes are the connection's (<see cref="LineConnection.HandshakeAsync"/>).
/// </summary>
internal static class Pop3Tls
{
    /// <summary>Upgrades within <paramref name="within"/>; false when the handshake failed and the connection must end.</summary>
    public static async ValueTask<bool> StartAsync(Pop3Session session, LineConnection connection, TimeSpan within)
    {
        var certificates = session.Server.Certificates!;
        var certificate = certificates.Current;
        // RFC 2595 §4: the server remains in AUTHORIZATION; nothing learnt in the clear carries over.
        session.PendingUser = null;
        var (tls, error) = await connection.HandshakeAsync(certificates.ServerOptions(certificate), within).ConfigureAwait(false);
        if (tls is null)
        {
            Pop3Log.TlsFailed(session.Logger, session.Id, session.RemoteEndPoint, error!);
            return false;
        }
        session.Secured(tls.SslProtocol, certificate.Certificate);
        connection.UseTransport(session.Server.Hooks is { } hooks ? hooks.OnTransport(session, tls) : tls);
        Pop3Log.TlsEstablished(session.Logger, session.Id, tls.SslProtocol, tls.NegotiatedCipherSuite);
        return true;
    }
}
