namespace Restante.Admin;

/// <summary>A session in a reply. <see cref="State"/> is the RFC 1939 name: AUTHORIZATION, TRANSACTION or UPDATE.</summary>
internal sealed record SessionRow(long Id, string? User, string? Peer, DateTimeOffset Since, string State, bool Tls, long BytesSent)
{
    public static SessionRow Of(LiveSession session) => new(
        session.Id, session.User, session.Peer?.ToString(), session.Since, session.State.ToString().ToUpperInvariant(), session.IsSecure, session.BytesSent);
}
