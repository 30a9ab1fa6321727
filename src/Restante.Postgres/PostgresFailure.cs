using System.Net.Sockets;
using Npgsql;
using Restante.Storage;

namespace Restante.Postgres;

/// <summary>Database failures as store failures: what the POP3 and LMTP layers turn into [SYS/TEMP] or 4xx.</summary>
internal static class PostgresFailure
{
    /// <summary>Failures of the database or the way to it, which a retry later may not meet again.</summary>
    public static bool IsDatabaseFailure(Exception ex)
        => ex is NpgsqlException or TimeoutException or IOException or SocketException;

    /// <summary>
    /// A connection the pool handed out turned out dead (the server restarted or failed over):
    /// worth one more try on a fresh connection for a statement that changes nothing or may be
    /// repeated. 57P01-57P03: admin shutdown, crash shutdown, cannot connect now.
    /// </summary>
    public static bool IsStaleConnection(Exception ex)
        => ex is PostgresException { SqlState: "57P01" or "57P02" or "57P03" }
            || (ex is NpgsqlException { IsTransient: true } && ex is not PostgresException);

    /// <summary>Runs <paramref name="action"/>, again (up to 3 times in all) while it fails on a stale pooled connection.</summary>
    public static async Task<T> RetryStaleAsync<T>(Func<Task<T>> action)
    {
        for (var attempt = 1; ; attempt++)
        {
            try
            {
                return await action().ConfigureAwait(false);
            }
            catch (Exception ex) when (attempt < 3 && IsStaleConnection(ex))
            {
                // The pool drops the broken connection; the next attempt opens a new one.
            }
        }
    }

    public static MailStoreException From(Exception ex, string what)
    {
        var kind = ex switch
        {
            // 42P01 undefined_table: the schema was never created; retrying will not help.
            PostgresException { SqlState: PostgresErrorCodes.UndefinedTable } => MailStoreErrorKind.Permanent,
            // 23xxx integrity constraint violations: the request itself cannot be stored.
            PostgresException { SqlState: var state } when state.StartsWith("23", StringComparison.Ordinal) => MailStoreErrorKind.Permanent,
            // Everything else (server gone, restarting, failover, pool exhausted, timeouts) passes.
            _ => MailStoreErrorKind.Transient,
        };
        var hint = ex is PostgresException { SqlState: PostgresErrorCodes.UndefinedTable } ? " (is the schema there? run: restante db migrate)" : "";
        return new MailStoreException(kind, $"{what}: {ex.Message}{hint}", ex);
    }
}
