using NpgsqlTypes;
using Npgsql;

namespace Restante.Postgres;

/// <summary>What `restante migrate maildir-to-postgres` writes besides the messages: policy state and retained messages.</summary>
public sealed partial class PostgresMailStore
{
    /// <summary>
    /// Copies a mailbox's policy state (RFC 2449 LOGIN-DELAY, EXPIRE) in one statement per kind, so running it again
    /// changes nothing: the later of the two last logins is kept, and a first retrieval is set only where none is
    /// recorded (a session on this store may already have recorded one, which is then the truth).
    /// </summary>
    internal async ValueTask CopyPolicyStateAsync(string user, DateTimeOffset? lastLogin, IReadOnlyList<(string Uidl, DateTimeOffset At)> firstRetrieved, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(user);
        ArgumentNullException.ThrowIfNull(firstRetrieved);
        try
        {
            await using var connection = await _dataSource.OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
            await using var batch = new NpgsqlBatch(connection);
            if (lastLogin is { } login)
            {
                // greatest() ignores a NULL: a mailbox that never had a login takes the Maildir's.
                var command = new NpgsqlBatchCommand("UPDATE mailbox SET last_login_at = greatest(last_login_at, $2) WHERE name = $1");
                command.Parameters.AddWithValue(user);
                command.Parameters.AddWithValue(login);
                batch.BatchCommands.Add(command);
            }
            if (firstRetrieved.Count > 0)
            {
                var command = new NpgsqlBatchCommand("""
                    UPDATE message m SET first_retrieved_at = v.at
                    FROM mailbox b, unnest($2::text[], $3::timestamptz[]) AS v (uidl, at)
                    WHERE b.name = $1 AND m.mailbox_id = b.id AND m.uidl = v.uidl AND m.first_retrieved_at IS NULL
                    """);
                command.Parameters.AddWithValue(user);
                command.Parameters.AddWithValue(firstRetrieved.Select(r => r.Uidl).ToArray());
                command.Parameters.Add(new NpgsqlParameter { NpgsqlDbType = NpgsqlDbType.Array | NpgsqlDbType.TimestampTz, Value = firstRetrieved.Select(r => r.At).ToArray() });
                batch.BatchCommands.Add(command);
            }
            if (batch.BatchCommands.Count > 0) await batch.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
        }
        catch (Exception ex) when (PostgresFailure.IsDatabaseFailure(ex))
        {
            throw PostgresFailure.From(ex, $"Cannot copy the policy state of {user}");
        }
    }

    /// <summary>
    /// The last microsecond of the UTC day a retained message of the source was deleted on: the deletion time the copy
    /// records (<see cref="MarkRetainedAsync"/>, retained copies), and how a later run tells a deletion it copied from
    /// one a POP3 session made here (at the time it happened: on that microsecond once in 86,400,000,000).
    /// </summary>
    internal static DateTimeOffset CopiedDeletionTime(DateTimeOffset day)
        => new(day.UtcDateTime.Date.AddDays(1).AddTicks(-TimeSpan.TicksPerMicrosecond), TimeSpan.Zero);

    /// <summary>
    /// Messages of the source that a previous run copied as retained (deleted there then) and that are in the source's
    /// mailbox again (`retention restore`): live here again too, as never retrieved. A message deleted through a POP3
    /// session here stays deleted however often the copy runs: its deletion time is not a copied one
    /// (<see cref="CopiedDeletionTime"/>). Returns how many came back.
    /// </summary>
    internal async ValueTask<int> RestoreCopiedAsync(string user, string[] liveUidls, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(user);
        ArgumentNullException.ThrowIfNull(liveUidls);
        if (liveUidls.Length == 0) return 0;
        try
        {
            // '24 hours', not '1 day': the day of a timestamptz would follow the session's time zone across a DST change.
            await using var command = _dataSource.CreateCommand("""
                UPDATE message m SET deleted_at = NULL, first_retrieved_at = NULL
                FROM mailbox b
                WHERE b.name = $1 AND m.mailbox_id = b.id AND m.uidl = ANY($2) AND m.delivery_id = 'copy:' || m.uidl
                  AND m.deleted_at = date_trunc('day', m.deleted_at, 'UTC') + interval '24 hours' - interval '1 microsecond'
                """);
            command.Parameters.AddWithValue(user);
            command.Parameters.AddWithValue(liveUidls);
            return await command.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
        }
        catch (Exception ex) when (PostgresFailure.IsDatabaseFailure(ex))
        {
            throw PostgresFailure.From(ex, $"Cannot restore the copied messages of {user}");
        }
    }

    /// <summary>
    /// A retained message of the source, copied before and still visible here (copied while it was in the mailbox, deleted
    /// there since): retained here too, from <paramref name="deletedAt"/>. Returns whether it was.
    /// </summary>
    internal async ValueTask<bool> MarkRetainedAsync(string user, string uidl, DateTimeOffset deletedAt, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(user);
        ArgumentNullException.ThrowIfNull(uidl);
        try
        {
            await using var command = _dataSource.CreateCommand("""
                UPDATE message m SET deleted_at = $3
                FROM mailbox b WHERE b.name = $1 AND m.mailbox_id = b.id AND m.uidl = $2 AND m.deleted_at IS NULL
                """);
            command.Parameters.AddWithValue(user);
            command.Parameters.AddWithValue(uidl);
            command.Parameters.AddWithValue(deletedAt);
            return await command.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false) > 0;
        }
        catch (Exception ex) when (PostgresFailure.IsDatabaseFailure(ex))
        {
            throw PostgresFailure.From(ex, $"Cannot retain message {uidl} of {user}");
        }
    }
}
