using System.Collections.Concurrent;
using Microsoft.Extensions.Logging;
using Npgsql;

namespace Restante.Postgres;

/// <summary>
/// The leases this node holds, renewed together: one UPDATE per interval however many sessions are
/// open. A lease that did not renew (expired, or taken over after a stall) is dropped from the set;
/// the session finds out at QUIT, whose own token check is what really decides.
/// </summary>
internal sealed class LeaseKeeper : IAsyncDisposable
{
    private readonly ConcurrentDictionary<long, long> _held = new();
    private readonly NpgsqlDataSource _dataSource;
    private readonly PostgresStoreOptions _options;
    private readonly ILogger _logger;
    private readonly Func<CancellationToken, Task> _collectBodies;
    private readonly CancellationTokenSource _stopping = new();
    private readonly Task _loop;

    public LeaseKeeper(NpgsqlDataSource dataSource, PostgresStoreOptions options, ILogger logger, Func<CancellationToken, Task> collectBodies)
    {
        _dataSource = dataSource;
        _options = options;
        _logger = logger;
        _collectBodies = collectBodies;
        _loop = Task.Run(() => RunAsync(_stopping.Token));
    }

    public void Hold(long mailboxId, long token) => _held[mailboxId] = token;

    public void Forget(long mailboxId, long token) => _held.TryRemove(new KeyValuePair<long, long>(mailboxId, token));

    public int Count => _held.Count;

    private async Task RunAsync(CancellationToken stopping)
    {
        var nextCollection = DateTime.UtcNow + _options.BodyCollectionInterval;
        using var timer = new PeriodicTimer(_options.RenewInterval);
        try
        {
            while (await timer.WaitForNextTickAsync(stopping).ConfigureAwait(false))
            {
                await RenewAsync(stopping).ConfigureAwait(false);
                if (DateTime.UtcNow >= nextCollection)
                {
                    nextCollection = DateTime.UtcNow + _options.BodyCollectionInterval;
                    await _collectBodies(stopping).ConfigureAwait(false);
                }
            }
        }
        catch (OperationCanceledException) when (stopping.IsCancellationRequested)
        {
            // Shutting down: leases still held expire by themselves or are released by their sessions.
        }
    }

    /// <summary>Extends every lease still ours by the TTL, measured on the database clock.</summary>
    internal async Task RenewAsync(CancellationToken cancellationToken)
    {
        var held = _held.ToArray();
        if (held.Length == 0) return;
        try
        {
            await using var command = _dataSource.CreateCommand("""
                UPDATE mailbox_lease l SET expires_at = now() + make_interval(secs => $3)
                FROM unnest($1::bigint[], $2::bigint[]) AS h (mailbox_id, token)
                WHERE l.mailbox_id = h.mailbox_id AND l.token = h.token AND l.expires_at > now()
                RETURNING l.mailbox_id
                """);
            command.Parameters.AddWithValue(held.Select(h => h.Key).ToArray());
            command.Parameters.AddWithValue(held.Select(h => h.Value).ToArray());
            command.Parameters.AddWithValue(_options.LeaseTtl.TotalSeconds);
            var renewed = new HashSet<long>();
            await using (var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false))
            {
                while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false)) renewed.Add(reader.GetInt64(0));
            }
            foreach (var (mailboxId, token) in held)
            {
                if (renewed.Contains(mailboxId)) continue;
                // Still ours locally but not in the database: expired or taken over. Released meanwhile is fine too.
                if (_held.TryRemove(new KeyValuePair<long, long>(mailboxId, token))) PostgresLog.LeaseLost(_logger, mailboxId, token);
            }
        }
        catch (Exception ex) when (PostgresFailure.IsDatabaseFailure(ex))
        {
            PostgresLog.RenewalFailed(_logger, held.Length, ex);
        }
    }

    public async ValueTask DisposeAsync()
    {
        await _stopping.CancelAsync().ConfigureAwait(false);
        await _loop.ConfigureAwait(false);
        _stopping.Dispose();
    }
}
