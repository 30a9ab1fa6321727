namespace Restante.Postgres;

/// <summary>One row of a session's snapshot: where the bytes are, and what STAT/LIST/UIDL report.</summary>
internal sealed record PostgresMessage(long Uid, string Uidl, long Octets, long Length, long BodyId);
