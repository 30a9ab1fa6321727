using Microsoft.Extensions.Logging;
using Npgsql;

namespace Restante.Postgres;

/// <summary>
/// At start, a node makes sure the database's schema is the one it was built for: nodes never
/// migrate by themselves (an upgrade is an operator's step, `restante db migrate`), and a node
/// running on an older schema would fail on its first login or delivery instead of at once.
/// </summary>
internal static class PostgresSchemaCheck
{
    /// <summary>
    /// Throws <see cref="InvalidOperationException"/> (the host reports it and exits) when the
    /// database answers with an older schema version than <see cref="PostgresSchema.LatestVersion"/>.
    /// A database that cannot be reached is only logged: the node starts and answers [SYS/TEMP]
    /// until it is back, as during any outage.
    /// </summary>
    public static void RequireCurrent(NpgsqlDataSource dataSource, ILogger logger)
    {
        int version;
        try
        {
            // Host startup builds its services synchronously; this runs once per process.
            version = PostgresSchema.GetVersionAsync(dataSource, CancellationToken.None).GetAwaiter().GetResult();
        }
        catch (Exception ex) when (PostgresFailure.IsDatabaseFailure(ex))
        {
            PostgresLog.SchemaCheckSkipped(logger, ex);
            return;
        }
        if (version < PostgresSchema.LatestVersion)
        {
            var found = version == 0 ? "has no Restante schema" : $"is at schema version {version}";
            throw new InvalidOperationException(
                $"The PostgreSQL database {found}; this Restante needs version {PostgresSchema.LatestVersion}. Run: restante db migrate --postgres \"…\" (or with the same --config).");
        }
    }
}
