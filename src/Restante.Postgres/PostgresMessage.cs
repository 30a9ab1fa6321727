namespace Restante.Postgres;

/// <summary>One row of a session's snapshot: where the bytes are, what STAT/LIST/UIDL report, and its first retrieval (EXPIRE).</summary>
internal sealed record PostgresMessage(long Uid, string Uidl, long Octets, long Length, long BodyId, DateTimeOffset? FirstRetrieved);
