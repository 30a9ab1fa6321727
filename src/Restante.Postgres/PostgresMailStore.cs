using System.Buffers;
using System.Globalization;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Npgsql;
using NpgsqlTypes;
using Restante.Protocol;
using Restante.Storage;

namespace Restante.Postgres;

/// <summary>
/// Mailboxes in PostgreSQL, shared by any number of nodes. The RFC 1939 exclusive lock is a lease
/// row per mailbox with a fencing token and an expiry on the database clock: a dead node's
/// mailboxes free within <see cref="PostgresStoreOptions.LeaseTtl"/>, and QUIT deletes only if the
/// token is still the lease's. Every statement is short; no transaction stays open while a client
/// reads, and no session-level advisory lock pins a pooled connection.
/// </summary>
public sealed partial class PostgresMailStore : IMailBackend, IIdempotentDelivery, IMessageRetention, IAsyncDisposable
{
    private readonly NpgsqlDataSource _dataSource;
    private readonly NpgsqlDataSource _unflushedSource;
    private readonly PostgresStoreOptions _options;
    private readonly ILogger _logger;
    private readonly LeaseKeeper _leases;
    private readonly string _node;

    private readonly TimeProvider _time;
    private readonly bool _retain;

    public PostgresMailStore(PostgresStoreOptions options, ILoggerFactory? loggerFactory = null)
        : this(options, loggerFactory, null, 0)
    {
    }

    /// <param name="time">The clock that dates deletions for retention (the server's, so every node agrees with its sessions).</param>
    /// <param name="retentionDays">Retention:Days: above 0, QUIT marks messages deleted (deleted_at) instead of deleting them.</param>
    public PostgresMailStore(PostgresStoreOptions options, ILoggerFactory? loggerFactory, TimeProvider? time, int retentionDays)
    {
        _time = time ?? TimeProvider.System;
        _retain = retentionDays > 0;
        ArgumentNullException.ThrowIfNull(options);
        var problems = options.Validate().ToList();
        if (problems.Count > 0) throw new InvalidOperationException(string.Join(" ", problems));
        loggerFactory ??= NullLoggerFactory.Instance;
        _options = options;
        _logger = loggerFactory.CreateLogger<PostgresMailStore>();
        var builder = PostgresConnectionDefaults.CreateBuilder(options.ConnectionString);
        builder.UseLoggerFactory(loggerFactory);
        _dataSource = builder.Build();
        // Commits that nobody is told about need not wait for the WAL flush: lease writes (take,
        // renew, release; one lost in a database crash can only make its session's QUIT fail safe,
        // the fence finding no token, or keep a mailbox busy until the TTL) and message bodies
        // (unreferenced until the message row commits). What is acknowledged to someone, the
        // message row of a delivery and QUIT's deletions, commits on the durable pool; the WAL is
        // one sequence, so that flush also makes every earlier body and lease write durable.
        var unflushedBuilder = PostgresConnectionDefaults.CreateBuilder(options.ConnectionString);
        unflushedBuilder.ConnectionStringBuilder.Options = ((unflushedBuilder.ConnectionStringBuilder.Options ?? "") + " -c synchronous_commit=off").Trim();
        unflushedBuilder.UseLoggerFactory(loggerFactory);
        _unflushedSource = unflushedBuilder.Build();
        _node = $"{Environment.MachineName}:{Environment.ProcessId}";
        _leases = new LeaseKeeper(_unflushedSource, options, _logger, CollectBodiesQuietlyAsync);
    }

    internal NpgsqlDataSource DataSource => _dataSource;

    /// <summary>Leases this node holds now (for tests and diagnostics).</summary>
    internal int HeldLeases => _leases.Count;

    internal Task RenewLeasesAsync(CancellationToken cancellationToken) => _leases.RenewAsync(cancellationToken);

    public async ValueTask<IMaildrop> OpenAsync(string user, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(user);
        try
        {
            return await PostgresFailure.RetryStaleAsync(() => OpenOnceAsync(user, cancellationToken)).ConfigureAwait(false);
        }
        catch (Exception ex) when (PostgresFailure.IsDatabaseFailure(ex))
        {
            throw PostgresFailure.From(ex, $"Cannot open the mailbox of {user}");
        }
    }

    private async Task<IMaildrop> OpenOnceAsync(string user, CancellationToken cancellationToken)
    {
        await using var connection = await _unflushedSource.OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
        if (await TryLeaseAndListAsync(connection, user, cancellationToken).ConfigureAwait(false) is { } drop) return drop;
        // No lease: taken by another session, or no mailbox yet (a user who never had mail, or
        // one another node is creating right now). Only these rare cases pay for the extra round
        // trips: make the mailbox if missing, then try once more.
        await using (var ensure = new NpgsqlCommand(
            "INSERT INTO mailbox (name) SELECT $1 WHERE NOT EXISTS (SELECT 1 FROM mailbox WHERE name = $1) ON CONFLICT (name) DO NOTHING", connection))
        {
            ensure.Parameters.AddWithValue(user);
            await ensure.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
        }
        return await TryLeaseAndListAsync(connection, user, cancellationToken).ConfigureAwait(false)
            ?? throw new MailStoreException(MailStoreErrorKind.InUse, $"Mailbox of {user} is leased by another session.");
    }

    /// <summary>
    /// One round trip of two statements: take the lease if free or expired, then list the messages
    /// with the mailbox's last login; null when the lease was not taken. The list is read after the
    /// lease is ours (statements run in order, each with its own snapshot), so a previous holder's
    /// QUIT has committed before it. One statement would not do: a lease taken after waiting for
    /// that QUIT's row lock would come with a snapshot from before it, and so with its deleted messages.
    /// </summary>
    private async Task<IMaildrop?> TryLeaseAndListAsync(NpgsqlConnection connection, string user, CancellationToken cancellationToken)
    {
        // The lease row outlives its sessions (release only moves expires_at into the past), so
        // taking it is an UPDATE of columns no index covers: a HOT update, with no foreign-key
        // check and no new index entry, where inserting and deleting a row per login paid for both.
        await using var batch = new NpgsqlBatch(connection)
        {
            BatchCommands =
            {
                Command("""
                    INSERT INTO mailbox_lease AS l (mailbox_id, token, node, expires_at)
                    SELECT id, nextval('lease_token'), $2, now() + make_interval(secs => $3) FROM mailbox WHERE name = $1
                    ON CONFLICT (mailbox_id) DO UPDATE
                        SET token = EXCLUDED.token, node = EXCLUDED.node, expires_at = EXCLUDED.expires_at
                        WHERE l.expires_at <= now()
                    RETURNING l.mailbox_id, l.token
                    """, Text(user), Text(_node), new NpgsqlParameter<double> { TypedValue = _options.LeaseTtl.TotalSeconds }),
                // The last login rides on the listing (every row, or the one row of an empty mailbox)
                // rather than costing a statement of its own.
                Command("""
                    SELECT b.last_login_at, m.uid, m.uidl, m.octets, m.length, m.body_id, m.first_retrieved_at
                    FROM mailbox b LEFT JOIN message m ON m.mailbox_id = b.id AND m.deleted_at IS NULL
                    WHERE b.name = $1 ORDER BY m.uid
                    """, Text(user)),
            },
        };
        await using var reader = await batch.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
        if (!await reader.ReadAsync(cancellationToken).ConfigureAwait(false)) return null;
        var mailboxId = reader.GetInt64(0);
        var token = reader.GetInt64(1);
        _leases.Hold(mailboxId, token);
        try
        {
            await reader.NextResultAsync(cancellationToken).ConfigureAwait(false);
            DateTimeOffset? lastLogin = null;
            var messages = new List<PostgresMessage>();
            while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
            {
                if (!reader.IsDBNull(0)) lastLogin = reader.GetFieldValue<DateTimeOffset>(0);
                if (reader.IsDBNull(1)) continue;   // the mailbox has no messages
                messages.Add(new PostgresMessage(reader.GetInt64(1), reader.GetString(2), reader.GetInt64(3), reader.GetInt64(4), reader.GetInt64(5),
                    reader.IsDBNull(6) ? null : reader.GetFieldValue<DateTimeOffset>(6)));
            }
            return new PostgresMaildrop(this, mailboxId, token, messages, lastLogin);
        }
        catch
        {
            _leases.Forget(mailboxId, token);
            await ReleaseAsync(mailboxId, token).ConfigureAwait(false);
            throw;
        }
    }

    /// <summary>The messages in uid order, read in one statement that takes no lease: a live session is not disturbed.</summary>
    public async ValueTask<IReadOnlyList<StoredMessage>> ListAsync(string user, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(user);
        try
        {
            return await PostgresFailure.RetryStaleAsync<IReadOnlyList<StoredMessage>>(async () =>
            {
                await using var command = _dataSource.CreateCommand(
                    // Retained rows are deleted as far as POP3 is concerned: left out, as the Maildir store leaves out restante-retained/.
                    "SELECT m.uidl, m.octets FROM message m JOIN mailbox b ON b.id = m.mailbox_id WHERE b.name = $1 AND m.deleted_at IS NULL ORDER BY m.uid");
                command.Parameters.AddWithValue(user);
                await using var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
                var messages = new List<StoredMessage>();
                while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
                    messages.Add(new StoredMessage(reader.GetString(0), reader.GetInt64(1)));
                return messages;
            }).ConfigureAwait(false);
        }
        catch (Exception ex) when (PostgresFailure.IsDatabaseFailure(ex))
        {
            throw PostgresFailure.From(ex, $"Cannot list the mailbox of {user}");
        }
    }

    public ValueTask<string> DeliverAsync(string user, Stream message, CancellationToken cancellationToken)
        => DeliverCoreAsync(user, message, deliveryId: null, uidl: null, deletedAt: null, cancellationToken);

    public ValueTask<string> DeliverOnceAsync(string user, string deliveryId, Stream message, string? uidl, CancellationToken cancellationToken)
        => DeliverOnceAsync(user, deliveryId, message, uidl, deletedAt: null, cancellationToken);

    /// <param name="deletedAt">Set: the message arrives already deleted and retained (a migrated Maildir's restante-retained), in the same statement.</param>
    internal async ValueTask<string> DeliverOnceAsync(string user, string deliveryId, Stream message, string? uidl, DateTimeOffset? deletedAt, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(deliveryId);
        try
        {
            // The common retry case, answered before any body is written.
            if (await FindDeliveryAsync(user, deliveryId, cancellationToken).ConfigureAwait(false) is { } known) return known;
        }
        catch (Exception ex) when (PostgresFailure.IsDatabaseFailure(ex))
        {
            throw PostgresFailure.From(ex, $"Delivery to {user} failed");
        }
        return await DeliverCoreAsync(user, message, deliveryId, uidl, deletedAt, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>
    /// Writes the body first (its own transaction; nobody waits on it), then allocates the uid and
    /// inserts the message in one short transaction, the only moment the mailbox row is locked. The
    /// message is visible whole, once committed, or not at all; a body left by a failure is
    /// collected later.
    /// </summary>
    private async ValueTask<string> DeliverCoreAsync(string user, Stream message, string? deliveryId, string? uidl, DateTimeOffset? deletedAt, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(user);
        ArgumentNullException.ThrowIfNull(message);
        try
        {
            var (bodyId, length, octets) = await WriteBodyAsync(message, cancellationToken).ConfigureAwait(false);
            await using var connection = await _dataSource.OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
            await using var transaction = await connection.BeginTransactionAsync(cancellationToken).ConfigureAwait(false);
            // The mailbox usually exists: allocate first, and make it only when the allocation finds none
            // (a first delivery pays one statement more, every other delivery one less).
            var allocated = await AllocateUidAsync(connection, transaction, user, cancellationToken).ConfigureAwait(false);
            if (allocated is null)
            {
                await using (var ensure = new NpgsqlCommand("INSERT INTO mailbox (name) VALUES ($1) ON CONFLICT (name) DO NOTHING", connection, transaction))
                {
                    ensure.Parameters.AddWithValue(user);
                    await ensure.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
                }
                allocated = await AllocateUidAsync(connection, transaction, user, cancellationToken).ConfigureAwait(false)
                    ?? throw new MailStoreException(MailStoreErrorKind.Transient, $"The mailbox of {user} vanished during delivery.");
            }
            var (mailboxId, uid, validity) = allocated.Value;
            var assigned = uidl ?? string.Create(CultureInfo.InvariantCulture, $"V{validity}U{uid}");
            await using (var insert = new NpgsqlCommand("""
                INSERT INTO message (mailbox_id, uid, uidl, octets, length, body_id, delivery_id, deleted_at)
                VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
                ON CONFLICT (mailbox_id, delivery_id) DO NOTHING
                """, connection, transaction))
            {
                insert.Parameters.AddWithValue(mailboxId);
                insert.Parameters.AddWithValue(uid);
                insert.Parameters.AddWithValue(assigned);
                insert.Parameters.AddWithValue(octets);
                insert.Parameters.AddWithValue(length);
                insert.Parameters.AddWithValue(bodyId);
                insert.Parameters.Add(new NpgsqlParameter { NpgsqlDbType = NpgsqlDbType.Text, Value = (object?)deliveryId ?? DBNull.Value });
                insert.Parameters.Add(new NpgsqlParameter { NpgsqlDbType = NpgsqlDbType.TimestampTz, Value = (object?)deletedAt ?? DBNull.Value });
                if (await insert.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false) == 0)
                {
                    // A concurrent delivery with the same id won; ours is the duplicate.
                    await transaction.RollbackAsync(cancellationToken).ConfigureAwait(false);
                    return await FindDeliveryAsync(user, deliveryId!, cancellationToken).ConfigureAwait(false)
                        ?? throw new MailStoreException(MailStoreErrorKind.Transient, $"Delivery {deliveryId} to {user} conflicted and then vanished.");
                }
            }
            await transaction.CommitAsync(cancellationToken).ConfigureAwait(false);
            PostgresLog.Delivered(_logger, user, assigned, octets);
            return assigned;
        }
        catch (Exception ex) when (PostgresFailure.IsDatabaseFailure(ex))
        {
            throw PostgresFailure.From(ex, $"Delivery to {user} failed");
        }
    }

    /// <summary>Takes the mailbox's next uid (locking its row until the transaction ends); null when there is no mailbox.</summary>
    private static async Task<(long MailboxId, long Uid, long Validity)?> AllocateUidAsync(NpgsqlConnection connection, NpgsqlTransaction transaction, string user, CancellationToken cancellationToken)
    {
        await using var allocate = new NpgsqlCommand(
            "UPDATE mailbox SET next_uid = next_uid + 1 WHERE name = $1 RETURNING id, next_uid - 1, uid_validity", connection, transaction);
        allocate.Parameters.AddWithValue(user);
        await using var reader = await allocate.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
        if (!await reader.ReadAsync(cancellationToken).ConfigureAwait(false)) return null;
        return (reader.GetInt64(0), reader.GetInt64(1), reader.GetInt64(2));
    }

    private async Task<string?> FindDeliveryAsync(string user, string deliveryId, CancellationToken cancellationToken)
    {
        await using var command = _dataSource.CreateCommand(
            "SELECT m.uidl FROM message m JOIN mailbox b ON b.id = m.mailbox_id WHERE b.name = $1 AND m.delivery_id = $2");
        command.Parameters.AddWithValue(user);
        command.Parameters.AddWithValue(deliveryId);
        return (string?)await command.ExecuteScalarAsync(cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Stores the message's bytes in chunks (each compressed when that pays: CompressedFrame), counting the octets RETR will send.</summary>
    private async Task<(long BodyId, long Length, long Octets)> WriteBodyAsync(Stream message, CancellationToken cancellationToken)
    {
        await using var connection = await _unflushedSource.OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
        await using var transaction = await connection.BeginTransactionAsync(cancellationToken).ConfigureAwait(false);
        long bodyId;
        await using (var create = new NpgsqlCommand("INSERT INTO body (length) VALUES (0) RETURNING id", connection, transaction))
            bodyId = (long)(await create.ExecuteScalarAsync(cancellationToken).ConfigureAwait(false))!;
        var rowSize = BodyLayout.RowSizeFor(_options.ChunkSize);
        var buffer = new byte[rowSize * BodyLayout.RowsPerStatement(_options.ChunkSize)];
        using var compressed = _options.CompressBodies ? new MemoryStream() : null;
        var octets = new MessageOctets();
        long length = 0;
        var seq = 0;
        // One statement per buffer; the server cuts it into rows of rowSize (BodyLayout). A compressed frame marks
        // its first row with its row count and raw size, the others with 0 (schema version 5).
        await using var chunk = new NpgsqlCommand("""
            INSERT INTO body_chunk (body_id, seq, data, frame_rows, frame_octets)
            SELECT $1, $2 + i, substring($3 FROM i * $4 + 1 FOR $4),
                   CASE WHEN $5::integer IS NULL THEN NULL WHEN i = 0 THEN $5 ELSE 0 END,
                   CASE WHEN i = 0 THEN $6::integer END
            FROM generate_series(0, (octet_length($3) - 1) / $4) AS i
            """, connection, transaction);
        chunk.Parameters.AddWithValue(bodyId);
        var seqParameter = new NpgsqlParameter<int> { NpgsqlDbType = NpgsqlDbType.Integer };
        var dataParameter = new NpgsqlParameter<ReadOnlyMemory<byte>> { NpgsqlDbType = NpgsqlDbType.Bytea };
        var frameRowsParameter = new NpgsqlParameter { NpgsqlDbType = NpgsqlDbType.Integer };
        var frameOctetsParameter = new NpgsqlParameter { NpgsqlDbType = NpgsqlDbType.Integer };
        chunk.Parameters.Add(seqParameter);
        chunk.Parameters.Add(dataParameter);
        chunk.Parameters.Add(new NpgsqlParameter<int> { NpgsqlDbType = NpgsqlDbType.Integer, TypedValue = rowSize });
        chunk.Parameters.Add(frameRowsParameter);
        chunk.Parameters.Add(frameOctetsParameter);
        while (true)
        {
            var filled = 0;
            int read;
            while (filled < buffer.Length && (read = await message.ReadAsync(buffer.AsMemory(filled), cancellationToken).ConfigureAwait(false)) > 0)
                filled += read;
            if (filled == 0) break;
            octets.Add(buffer.AsSpan(0, filled));
            length += filled;
            var data = buffer.AsMemory(0, filled);
            frameRowsParameter.Value = DBNull.Value;
            frameOctetsParameter.Value = DBNull.Value;
            if (compressed is not null && CompressedFrame.TryCompress(data.Span, compressed))
            {
                data = compressed.GetBuffer().AsMemory(0, (int)compressed.Length);
                frameRowsParameter.Value = (data.Length + rowSize - 1) / rowSize;
                frameOctetsParameter.Value = filled;
            }
            seqParameter.TypedValue = seq;
            seq += (data.Length + rowSize - 1) / rowSize;
            dataParameter.TypedValue = data;
            await chunk.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
            if (filled < buffer.Length) break;
        }
        await using (var size = new NpgsqlCommand("UPDATE body SET length = $2 WHERE id = $1", connection, transaction))
        {
            size.Parameters.AddWithValue(bodyId);
            size.Parameters.AddWithValue(length);
            await size.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
        }
        await transaction.CommitAsync(cancellationToken).ConfigureAwait(false);
        return (bodyId, length, octets.Total);
    }

    /// <summary>The octets the user's messages take as stored.</summary>
    public async ValueTask<long> GetUsageAsync(string user, CancellationToken cancellationToken)
    {
        try
        {
            return await PostgresFailure.RetryStaleAsync(async () =>
            {
                await using var command = _dataSource.CreateCommand(
                    // Retained messages do not count: the user can neither see nor remove them (README, Retention).
                    "SELECT coalesce(sum(m.length), 0)::bigint FROM message m JOIN mailbox b ON b.id = m.mailbox_id WHERE b.name = $1 AND m.deleted_at IS NULL");
                command.Parameters.AddWithValue(user);
                return (long)(await command.ExecuteScalarAsync(cancellationToken).ConfigureAwait(false))!;
            }).ConfigureAwait(false);
        }
        catch (Exception ex) when (PostgresFailure.IsDatabaseFailure(ex))
        {
            throw PostgresFailure.From(ex, $"Cannot measure the mailbox of {user}");
        }
    }

    /// <summary>
    /// RFC 1939 §6 UPDATE, fenced, in one statement (so one transaction and one round trip): the lease is ended (expiry
    /// set to -infinity) only if it is still this session's token and unexpired, and only then are the messages deleted;
    /// the lease is released with it. A session whose lease was lost (stalled node, expired, taken over) deletes nothing.
    /// </summary>
    internal async ValueTask<int> ExpungeAsync(long mailboxId, long token, long[] uids, CancellationToken cancellationToken, bool keepLease = false)
    {
        try
        {
            // A data-modifying WITH runs to completion whether or not its rows are read; the removal reads the fence's
            // row, so with no fence it matches nothing. The fence rechecks token and expiry on the newest row version
            // (READ COMMITTED), so a takeover that committed while this statement waited for the row is seen.
            var removal = _retain
                ? "UPDATE message SET deleted_at = $4 WHERE mailbox_id = (SELECT mailbox_id FROM fence) AND uid = ANY($3) AND deleted_at IS NULL RETURNING 1"
                : "DELETE FROM message WHERE mailbox_id = (SELECT mailbox_id FROM fence) AND uid = ANY($3) RETURNING 1";
            await using var command = _dataSource.CreateCommand($"""
                WITH fence AS (
                    UPDATE mailbox_lease SET expires_at = CASE WHEN $5 THEN expires_at ELSE '-infinity' END
                    WHERE mailbox_id = $1 AND token = $2 AND expires_at > clock_timestamp() RETURNING mailbox_id),
                removed AS ({removal})
                SELECT count(*) FROM fence
                """);
            command.Parameters.Add(new NpgsqlParameter<long> { TypedValue = mailboxId });
            command.Parameters.Add(new NpgsqlParameter<long> { TypedValue = token });
            command.Parameters.Add(new NpgsqlParameter<long[]> { TypedValue = uids });
            // $4 is only used when retaining; it is sent either way so $5 keeps its number.
            command.Parameters.Add(new NpgsqlParameter<DateTimeOffset> { TypedValue = _time.GetUtcNow() });
            // keepLease (EXPIRE at login): the fence still checks and locks the lease row but leaves it live, so the
            // session keeps the mailbox and QUIT's own expunge later releases it.
            command.Parameters.Add(new NpgsqlParameter<bool> { TypedValue = keepLease });
            var fenced = (long)(await command.ExecuteScalarAsync(cancellationToken).ConfigureAwait(false))!;
            if (!keepLease) _leases.Forget(mailboxId, token);
            if (fenced == 0)
                throw new MailStoreException(MailStoreErrorKind.Transient, $"The lease of mailbox {mailboxId} (token {token}) was lost; nothing was deleted.");
            // Messages another way already removed count as removed, as in the Maildir store.
            return uids.Length;
        }
        catch (Exception ex) when (PostgresFailure.IsDatabaseFailure(ex))
        {
            throw PostgresFailure.From(ex, $"Cannot apply the deletions of mailbox {mailboxId}");
        }
    }

    /// <summary>
    /// What a session records for LOGIN-DELAY and EXPIRE (RFC 2449 §6.5, §6.7), by uid: its login, and first retrievals
    /// where none is recorded. Not fenced by the lease: it deletes nothing, and a time recorded by a session that lost its
    /// lease is still true.
    /// </summary>
    internal readonly record struct PolicyState(DateTimeOffset? LoginAt, long[] RetrievedUids, DateTimeOffset RetrievedAt);

    private static IEnumerable<NpgsqlBatchCommand> PolicyStateCommands(long mailboxId, PolicyState state)
    {
        if (state.LoginAt is { } login)
            yield return Command("UPDATE mailbox SET last_login_at = $2 WHERE id = $1",
                new NpgsqlParameter<long> { TypedValue = mailboxId }, new NpgsqlParameter<DateTimeOffset> { TypedValue = login });
        if (state.RetrievedUids.Length > 0)
            yield return Command("UPDATE message SET first_retrieved_at = $3 WHERE mailbox_id = $1 AND uid = ANY($2) AND first_retrieved_at IS NULL",
                new NpgsqlParameter<long> { TypedValue = mailboxId }, new NpgsqlParameter<long[]> { TypedValue = state.RetrievedUids },
                new NpgsqlParameter<DateTimeOffset> { TypedValue = state.RetrievedAt });
    }

    /// <summary>Clears deleted_at (and first_retrieved_at: back as never retrieved) of the user's retained messages deleted since <paramref name="since"/>.</summary>
    public async ValueTask<int> RestoreAsync(string user, DateTimeOffset? since, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(user);
        try
        {
            await using var command = _dataSource.CreateCommand("""
                UPDATE message m SET deleted_at = NULL, first_retrieved_at = NULL
                FROM mailbox b
                WHERE b.id = m.mailbox_id AND b.name = $1 AND m.deleted_at IS NOT NULL AND ($2::timestamptz IS NULL OR m.deleted_at >= $2)
                """);
            command.Parameters.AddWithValue(user);
            command.Parameters.Add(new NpgsqlParameter { NpgsqlDbType = NpgsqlDbType.TimestampTz, Value = (object?)since ?? DBNull.Value });
            return await command.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
        }
        catch (Exception ex) when (PostgresFailure.IsDatabaseFailure(ex))
        {
            throw PostgresFailure.From(ex, $"Cannot restore the messages of {user}");
        }
    }

    /// <summary>Deletes the retained rows; their bodies go with the next body collection.</summary>
    public async ValueTask<int> PurgeAsync(DateTimeOffset deletedBefore, CancellationToken cancellationToken)
    {
        try
        {
            await using var command = _dataSource.CreateCommand("DELETE FROM message WHERE deleted_at IS NOT NULL AND deleted_at < $1");
            command.Parameters.AddWithValue(deletedBefore);
            return await command.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
        }
        catch (Exception ex) when (PostgresFailure.IsDatabaseFailure(ex))
        {
            throw PostgresFailure.From(ex, "Cannot purge retained messages");
        }
    }

    /// <summary>Frees the mailbox at once (a clean disconnect); a lease lost meanwhile is left alone.</summary>
    internal ValueTask ReleaseAsync(long mailboxId, long token) => CloseAsync(mailboxId, token, null);

    /// <summary>
    /// The end of a session in one round trip: its policy state, if it has one to record, then the release of its lease
    /// (<paramref name="token"/> null: QUIT's expunge released it already). An error barrier stands between them, so a
    /// failed policy write cannot keep the mailbox locked until the lease expires. A bare release commits without waiting
    /// for the WAL flush (one lost in a database crash only keeps the mailbox busy until the TTL); with policy state the
    /// batch commits durably (IPolicyMaildrop): the barrier makes the state and the release two transactions, two
    /// flushes in the one round trip.
    /// </summary>
    internal async ValueTask CloseAsync(long mailboxId, long? token, PolicyState? policy)
    {
        if (token is { } held) _leases.Forget(mailboxId, held);
        try
        {
            var source = policy is null ? _unflushedSource : _dataSource;
            await using var connection = await source.OpenConnectionAsync(CancellationToken.None).ConfigureAwait(false);
            await using var batch = new NpgsqlBatch(connection);
            if (policy is { } state)
                foreach (var command in PolicyStateCommands(mailboxId, state)) batch.BatchCommands.Add(command);
            if (batch.BatchCommands.Count > 0) batch.BatchCommands[^1].AppendErrorBarrier = true;
            // The row stays for the next session to take (see TryLeaseAndListAsync).
            if (token is { } release)
                batch.BatchCommands.Add(Command("UPDATE mailbox_lease SET expires_at = '-infinity' WHERE mailbox_id = $1 AND token = $2 AND expires_at > '-infinity'",
                    new NpgsqlParameter<long> { TypedValue = mailboxId }, new NpgsqlParameter<long> { TypedValue = release }));
            if (batch.BatchCommands.Count > 0) await batch.ExecuteNonQueryAsync(CancellationToken.None).ConfigureAwait(false);
        }
        catch (Exception ex) when (PostgresFailure.IsDatabaseFailure(ex))
        {
            PostgresLog.ReleaseFailed(_logger, mailboxId, ex);
        }
    }

    /// <summary>
    /// Reads the next rows of a body from <paramref name="seq"/> on into the stream's buffer: one short statement.
    /// Raw rows come about ChunkSize octets at a time; a row written before schema version 4 (one TOASTed row per
    /// chunk) comes alone: a row that is not the first is taken only if it is no longer than a version-4 row, and
    /// the rows stop at the first one skipped, so memory stays bounded either way. A compressed frame (version 5)
    /// comes whole, however many rows it has, and is decompressed here.
    /// </summary>
    internal async ValueTask<(int Rows, int Filled)> ReadRowsAsync(long bodyId, int seq, ChunkedBodyStream into, CancellationToken cancellationToken)
    {
        try
        {
            return await PostgresFailure.RetryStaleAsync(async () =>
            {
                // octet_length of a TOASTed value reads its pointer, not the value. The window is the frame's own row
                // count when the first row begins one (whatever ChunkSize the writing node had), else this store's.
                await using var command = _dataSource.CreateCommand("""
                    SELECT seq, frame_rows, frame_octets, data FROM body_chunk
                    WHERE body_id = $1 AND seq >= $2
                      AND seq < $2 + coalesce((SELECT nullif(f.frame_rows, 0) FROM body_chunk f WHERE f.body_id = $1 AND f.seq = $2), $3)
                      AND (seq = $2 OR octet_length(data) <= $4)
                    ORDER BY seq
                    """);
                command.Parameters.AddWithValue(bodyId);
                command.Parameters.AddWithValue(seq);
                command.Parameters.AddWithValue(BodyLayout.RowsPerStatement(_options.ChunkSize));
                command.Parameters.AddWithValue(BodyLayout.RowSize);
                await using var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
                if (!await reader.ReadAsync(cancellationToken).ConfigureAwait(false) || reader.GetInt32(0) != seq) return (0, 0);
                return reader.IsDBNull(1)
                    ? await ReadRawRowsAsync(reader, seq, into, cancellationToken).ConfigureAwait(false)
                    : await ReadFrameAsync(reader, bodyId, seq, into, cancellationToken).ConfigureAwait(false);
            }).ConfigureAwait(false);
        }
        catch (Exception ex) when (PostgresFailure.IsDatabaseFailure(ex))
        {
            throw new IOException($"Cannot read chunk {seq} of body {bodyId}: {ex.Message}", ex);
        }
    }

    /// <summary>Raw rows from the reader's current one (<paramref name="seq"/>), up to a gap or a compressed frame.</summary>
    private static async Task<(int Rows, int Filled)> ReadRawRowsAsync(NpgsqlDataReader reader, int seq, ChunkedBodyStream into, CancellationToken cancellationToken)
    {
        var rows = 0;
        var filled = 0;
        do
        {
            if (reader.GetInt32(0) != seq + rows || !reader.IsDBNull(1)) break;
            var size = checked((int)reader.GetBytes(3, 0, null, 0, 0));
            var buffer = into.RentBuffer(checked(filled + size), filled);
            reader.GetBytes(3, 0, buffer, filled, size);
            filled += size;
            rows++;
        }
        while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false));
        return (rows, filled);
    }

    /// <summary>
    /// The compressed frame that begins at the reader's current row: all its rows, decompressed into the stream's
    /// buffer. A frame with a row missing, a row that is not its own, or data that does not decompress to exactly its
    /// recorded size throws <see cref="IOException"/>: nothing of it reaches the client.
    /// </summary>
    private static async Task<(int Rows, int Filled)> ReadFrameAsync(NpgsqlDataReader reader, long bodyId, int seq, ChunkedBodyStream into, CancellationToken cancellationToken)
    {
        var frameRows = reader.GetInt32(1);
        var frameOctets = reader.IsDBNull(2) ? 0 : reader.GetInt32(2);
        if (frameRows <= 0 || frameOctets is <= 0 or > CompressedFrame.MaxOctets)
            throw new IOException($"Chunk {seq} of body {bodyId} does not begin a compressed frame (frame_rows {frameRows}, frame_octets {frameOctets}).");
        // A frame is stored only when it is smaller than its raw octets, so its compressed length is bounded by
        // frame_octets (itself capped): a row claiming more rows than that cannot make us buffer the rest of the body.
        var compressed = ArrayPool<byte>.Shared.Rent(frameOctets);
        try
        {
            var rows = 0;
            var length = 0;
            do
            {
                if (reader.GetInt32(0) != seq + rows || (rows > 0 && (reader.IsDBNull(1) || reader.GetInt32(1) != 0))) break;
                var size = checked((int)reader.GetBytes(3, 0, null, 0, 0));
                if (length + size > frameOctets)
                    throw new IOException($"The compressed frame at chunk {seq} of body {bodyId} is longer than its {frameOctets} raw octets.");
                reader.GetBytes(3, 0, compressed, length, size);
                length += size;
                rows++;
            }
            while (rows < frameRows && await reader.ReadAsync(cancellationToken).ConfigureAwait(false));
            if (rows != frameRows)
                throw new IOException($"The compressed frame at chunk {seq} of body {bodyId} has {rows} of its {frameRows} rows.");
            CompressedFrame.Decompress(compressed, length, into.RentBuffer(frameOctets, 0).AsSpan(0, frameOctets), bodyId, seq);
            return (rows, frameOctets);
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(compressed);
        }
    }

    /// <summary>Removes bodies that no message refers to and that are older than <paramref name="minAge"/>; returns how many.</summary>
    public async Task<int> CollectBodiesAsync(TimeSpan minAge, CancellationToken cancellationToken)
    {
        await using var command = _dataSource.CreateCommand("""
            DELETE FROM body b
            WHERE b.created_at < now() - make_interval(secs => $1)
              AND NOT EXISTS (SELECT 1 FROM message m WHERE m.body_id = b.id)
            """);
        command.Parameters.AddWithValue(minAge.TotalSeconds);
        return await command.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
    }

    private async Task CollectBodiesQuietlyAsync(CancellationToken cancellationToken)
    {
        try
        {
            var count = await CollectBodiesAsync(_options.BodyCollectionMinAge, cancellationToken).ConfigureAwait(false);
            if (count > 0) PostgresLog.BodiesCollected(_logger, count);
        }
        catch (Exception ex) when (PostgresFailure.IsDatabaseFailure(ex))
        {
            // Includes a delivery that referenced an old body meanwhile (foreign key): next round.
            PostgresLog.BodyCollectionFailed(_logger, ex);
        }
    }

    private static NpgsqlBatchCommand Command(string sql, params NpgsqlParameter[] parameters)
    {
        var command = new NpgsqlBatchCommand(sql);
        foreach (var parameter in parameters) command.Parameters.Add(parameter);
        return command;
    }

    // Typed: no boxing and no type lookup per login, as AddWithValue costs.
    private static NpgsqlParameter<string> Text(string value) => new() { TypedValue = value };

    public async ValueTask DisposeAsync()
    {
        await _leases.DisposeAsync().ConfigureAwait(false);
        await _unflushedSource.DisposeAsync().ConfigureAwait(false);
        await _dataSource.DisposeAsync().ConfigureAwait(false);
    }
}
