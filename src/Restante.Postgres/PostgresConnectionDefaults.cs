using System.Data.Common;
using Npgsql;

namespace Restante.Postgres;

/// <summary>
/// Connection settings Restante picks when the operator's connection string does not name them,
/// because every POP3 login and every RETR chunk is one or two short statements on a pooled
/// connection, where the per-statement overhead is most of the cost (profiled with
/// pg_stat_statements; see bench/RESULTS-postgres.md).
/// </summary>
internal static class PostgresConnectionDefaults
{
    // Npgsql prepares a statement after it has run this many times on a connection; we have fewer
    // than 20 distinct statements, so every one of them ends up prepared: no parse and plan per login.
    private const int MaxAutoPrepare = 32;

    /// <summary>A builder for <paramref name="connectionString"/> with Restante's defaults filled in.</summary>
    public static NpgsqlSlimDataSourceBuilder CreateBuilder(string connectionString)
    {
        // The slim builder brings only the base types (text, integers, bytea, timestamptz, ...) plus
        // what is enabled here: arrays (text[] user fields, bigint[] UIDs and leases). The full one
        // roots every type handler (JSON, ranges, geometry, full-text search, ...), which a Native AOT
        // `restante` would carry compiled for nothing.
        var builder = new NpgsqlSlimDataSourceBuilder(connectionString);
        builder.EnableArrays();
        var named = NamedKeys(connectionString);
        if (!named.Contains("maxautoprepare")) builder.ConnectionStringBuilder.MaxAutoPrepare = MaxAutoPrepare;
        // A connection going back to the pool would otherwise be sent DISCARD ALL, which costs a
        // statement per open and throws the prepared statements away. Restante leaves no session
        // state behind (no SET, temporary table, LISTEN or session advisory lock), so there is
        // nothing to discard.
        if (!named.Contains("noresetonclose")) builder.ConnectionStringBuilder.NoResetOnClose = true;
        return builder;
    }

    /// <summary>The keys the operator wrote, lower case without spaces ("Max Auto Prepare" → "maxautoprepare").</summary>
    private static HashSet<string> NamedKeys(string connectionString)
    {
        var parsed = new DbConnectionStringBuilder { ConnectionString = connectionString };
        return parsed.Keys.Cast<string>()
            .Select(k => k.Replace(" ", "", StringComparison.Ordinal).ToLowerInvariant())
            .ToHashSet(StringComparer.Ordinal);
    }
}
