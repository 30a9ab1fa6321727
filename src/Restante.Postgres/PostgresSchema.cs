using Npgsql;

namespace Restante.Postgres;

/// <summary>
/// The schema, as numbered migrations applied in order. Safe to run from several nodes at once:
/// each run takes a transaction-scoped advisory lock first, so one node applies a step and the
/// others then find it recorded. Never edit a published step; add the next one.
/// </summary>
public static class PostgresSchema
{
    // An arbitrary constant naming "Restante schema migration" among advisory locks.
    private const long MigrationLockKey = 0x52455354_414E5445;

    /// <summary>Steps by version. Version n is applied once, inside the same transaction that records it.</summary>
    internal static readonly IReadOnlyList<(int Version, string Sql)> Migrations =
    [
        (1, """
            CREATE TABLE mailbox (
                id           bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
                name         text   NOT NULL UNIQUE,
                -- Part of every unique-id we assign: a mailbox dropped and made again never repeats one.
                uid_validity bigint NOT NULL DEFAULT (extract(epoch FROM clock_timestamp()) * 1000)::bigint,
                -- Only grows: a uid is never handed out twice in a mailbox.
                next_uid     bigint NOT NULL DEFAULT 1 CHECK (next_uid > 0)
            );

            -- A message's bytes as stored, in chunks; shared by nothing, kept until no message refers to it.
            CREATE TABLE body (
                id         bigint      GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
                length     bigint      NOT NULL,
                created_at timestamptz NOT NULL DEFAULT now()
            );

            CREATE TABLE body_chunk (
                body_id bigint  NOT NULL REFERENCES body (id) ON DELETE CASCADE,
                seq     integer NOT NULL,
                data    bytea   NOT NULL,
                PRIMARY KEY (body_id, seq)
            );
            ALTER TABLE body_chunk ALTER COLUMN data SET STORAGE EXTERNAL;

            CREATE TABLE message (
                mailbox_id   bigint      NOT NULL REFERENCES mailbox (id),
                uid          bigint      NOT NULL,
                -- RFC 1939 §7 unique-id, verbatim (a migrated Maildir keeps its own).
                uidl         text        NOT NULL CHECK (uidl ~ '^[!-~]{1,70}$'),
                -- Octets RETR sends with CRLF line ends, before dot-stuffing (STAT/LIST).
                octets       bigint      NOT NULL,
                -- Octets as stored (quota).
                length       bigint      NOT NULL,
                body_id      bigint      NOT NULL REFERENCES body (id),
                delivery_id  text,
                delivered_at timestamptz NOT NULL DEFAULT now(),
                PRIMARY KEY (mailbox_id, uid),
                UNIQUE (mailbox_id, uidl),
                UNIQUE (mailbox_id, delivery_id)
            );
            CREATE INDEX message_body ON message (body_id);

            -- The RFC 1939 exclusive-access lock, across nodes: a lease with a fencing token.
            CREATE TABLE mailbox_lease (
                mailbox_id bigint      PRIMARY KEY REFERENCES mailbox (id),
                token      bigint      NOT NULL,
                node       text        NOT NULL,
                expires_at timestamptz NOT NULL
            );
            CREATE SEQUENCE lease_token;
            """),
        (2, """
            -- Users, as a second user directory beside the passwd file ("Users": "postgres").
            CREATE TABLE mail_user (
                name       text        PRIMARY KEY,
                -- "{SCHEME}encoded", as in a Dovecot passwd file.
                password   text        NOT NULL,
                -- Extra "key=value" fields, as in a passwd file (userdb_quota_rule=*:storage=100M).
                fields     text[]      NOT NULL DEFAULT '{}',
                created_at timestamptz NOT NULL DEFAULT now()
            );
            """),
        (3, """
            -- Mailbox policies (RFC 2449 LOGIN-DELAY, EXPIRE) and retention. Times come from the server's clock.
            ALTER TABLE mailbox ADD COLUMN last_login_at timestamptz;
            ALTER TABLE message ADD COLUMN first_retrieved_at timestamptz;
            -- Set: deleted through POP3 and retained (Retention:Days), invisible to POP3 until restored or purged.
            ALTER TABLE message ADD COLUMN deleted_at timestamptz;
            CREATE INDEX message_retained ON message (deleted_at) WHERE deleted_at IS NOT NULL;
            """),
        (4, """
            -- Bodies are now written in rows of at most 8000 octets (BodyLayout.RowSize). With the
            -- default target (~2 KB) each such row would still be cut into TOAST chunks, fetched
            -- through the TOAST index and copied together on every RETR; with the largest target a
            -- row stays whole in its own page and is sent from there. Only new rows are affected:
            -- bodies stored before keep their TOASTed rows, and the reader takes both.
            ALTER TABLE body_chunk SET (toast_tuple_target = 8160);
            """),
        (5, """
            -- Bodies may be stored compressed by the node (CompressedFrame: zlib), one frame per
            -- delivery statement, cut into rows like raw data. frame_rows NULL: the row holds raw
            -- octets, as every row written before. frame_rows = n > 0: the row begins a frame of n
            -- rows (this one and the next n - 1, which have frame_rows = 0) that decompresses to
            -- frame_octets octets. data keeps STORAGE EXTERNAL (version 1), so PostgreSQL never tries
            -- to compress the frames again, nor has to decompress anything on a read. Adding
            -- columns without a default rewrites nothing: old rows read as raw.
            ALTER TABLE body_chunk ADD COLUMN IF NOT EXISTS frame_rows integer, ADD COLUMN IF NOT EXISTS frame_octets integer;
            """),
    ];

    public static int LatestVersion => Migrations[^1].Version;

    /// <summary>Applies the missing steps; returns the versions applied by this call (empty when up to date).</summary>
    public static Task<IReadOnlyList<int>> MigrateAsync(NpgsqlDataSource dataSource, CancellationToken cancellationToken)
        => MigrateAsync(dataSource, LatestVersion, cancellationToken);

    /// <summary>Applies the missing steps up to <paramref name="targetVersion"/> (tests build older schemas with it).</summary>
    internal static async Task<IReadOnlyList<int>> MigrateAsync(NpgsqlDataSource dataSource, int targetVersion, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(dataSource);
        var applied = new List<int>();
        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
        await using var transaction = await connection.BeginTransactionAsync(cancellationToken).ConfigureAwait(false);
        await using (var lockCommand = new NpgsqlCommand("SELECT pg_advisory_xact_lock($1)", connection, transaction))
        {
            lockCommand.Parameters.AddWithValue(MigrationLockKey);
            await lockCommand.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
        }
        await using (var create = new NpgsqlCommand(
            "CREATE TABLE IF NOT EXISTS restante_schema (version integer PRIMARY KEY, applied_at timestamptz NOT NULL DEFAULT now())",
            connection, transaction))
        {
            await create.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
        }
        var current = await CurrentVersionAsync(connection, transaction, cancellationToken).ConfigureAwait(false);
        foreach (var (version, sql) in Migrations.Where(m => m.Version > current && m.Version <= targetVersion))
        {
            await using var step = new NpgsqlCommand(sql, connection, transaction);
            await step.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
            await using var record = new NpgsqlCommand("INSERT INTO restante_schema (version) VALUES ($1)", connection, transaction);
            record.Parameters.AddWithValue(version);
            await record.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
            applied.Add(version);
        }
        await transaction.CommitAsync(cancellationToken).ConfigureAwait(false);
        return applied;
    }

    /// <summary>The version the database is at; 0 when Restante's schema is not there at all.</summary>
    public static async Task<int> GetVersionAsync(NpgsqlDataSource dataSource, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(dataSource);
        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
        await using var exists = new NpgsqlCommand("SELECT to_regclass('restante_schema') IS NOT NULL", connection);
        if (!(bool)(await exists.ExecuteScalarAsync(cancellationToken).ConfigureAwait(false))!) return 0;
        return await CurrentVersionAsync(connection, null, cancellationToken).ConfigureAwait(false);
    }

    private static async Task<int> CurrentVersionAsync(NpgsqlConnection connection, NpgsqlTransaction? transaction, CancellationToken cancellationToken)
    {
        await using var command = new NpgsqlCommand("SELECT coalesce(max(version), 0) FROM restante_schema", connection, transaction);
        return (int)(await command.ExecuteScalarAsync(cancellationToken).ConfigureAwait(false))!;
    }
}
