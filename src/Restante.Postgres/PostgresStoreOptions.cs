namespace Restante.Postgres;

/// <summary>The PostgreSQL store's settings: the configuration section "Postgres".</summary>
public sealed class PostgresStoreOptions
{
    /// <summary>An Npgsql connection string ("Host=db;Database=mail;Username=restante"). Required for Store postgres.</summary>
    public string ConnectionString { get; set; } = string.Empty;

    /// <summary>
    /// How long a POP3 session's mailbox lease lasts without renewal. A node that dies frees its
    /// mailboxes after at most this long; a node stalled longer than this loses them and its QUIT
    /// deletes nothing. Renewed every third of it.
    /// </summary>
    public TimeSpan LeaseTtl { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>Message bodies are written and read this many octets per statement, in rows of at most 8000 octets (BodyLayout).</summary>
    public int ChunkSize { get; set; } = 256 * 1024;

    /// <summary>The largest <see cref="ChunkSize"/>.</summary>
    internal const int MaxChunkSize = 64 * 1024 * 1024;

    /// <summary>
    /// On, deliveries store each ChunkSize of a body zlib-compressed when that saves at least an eighth (CompressedFrame);
    /// off, they store raw octets as before schema version 5. Either way every body stays readable. Off by default: on a
    /// ~50 KB message inflating costs the node about 0.1 ms of CPU per RETR (half of its whole RETR cost) and saves the
    /// database only about 0.03 ms (bench/RESULTS-postgres-retr.md, round 6); it pays where database disk, WAL and
    /// replication volume count for more than CPU.
    /// </summary>
    public bool CompressBodies { get; set; }

    /// <summary>How often a node removes bodies no message refers to any more (left by QUIT and failed deliveries).</summary>
    public TimeSpan BodyCollectionInterval { get; set; } = TimeSpan.FromMinutes(10);

    /// <summary>A body no message refers to is removed only once it is this old, so a delivery still writing it keeps it.</summary>
    public TimeSpan BodyCollectionMinAge { get; set; } = TimeSpan.FromHours(1);

    public TimeSpan RenewInterval => LeaseTtl / 3;

    public IEnumerable<string> Validate()
    {
        if (string.IsNullOrWhiteSpace(ConnectionString))
            yield return "Postgres:ConnectionString must be set for Store postgres (or use --postgres).";
        if (LeaseTtl < TimeSpan.FromSeconds(1)) yield return "Postgres:LeaseTtl must be at least 00:00:01.";
        if (ChunkSize is < 4096 or > MaxChunkSize) yield return "Postgres:ChunkSize must be between 4096 and 67108864 octets.";
        if (BodyCollectionInterval <= TimeSpan.Zero) yield return "Postgres:BodyCollectionInterval must be positive.";
    }
}
