using System.CommandLine;
using Microsoft.Extensions.Configuration;
using Npgsql;
using Restante.Postgres;

namespace Restante.Cli;

/// <summary>
/// <c>restante db migrate [--postgres CONN] [--config FILE]</c>: creates or upgrades the PostgreSQL
/// schema. Safe to run from several nodes at once and again on an up-to-date database.
/// Exit codes: 0 up to date, 1 failed (the reason on stderr).
/// </summary>
internal static class DbCommand
{
    public static Command Create()
    {
        var db = new Command("db", "Manage the PostgreSQL store's database");
        var postgres = ServeCommand.PostgresOption();
        var config = new Option<FileInfo?>("--config") { Description = "JSON configuration file (the same as for serve)" };
        var migrate = new Command("migrate", "Create or upgrade the schema (idempotent, safe from several nodes at once)");
        migrate.Options.Add(postgres);
        migrate.Options.Add(config);
        migrate.SetAction(async (parse, cancellationToken) =>
        {
            var output = parse.InvocationConfiguration.Output;
            var error = parse.InvocationConfiguration.Error;
            if (ConfigFile.IsMissing(parse.GetValue(config), error)) return 1;
            string? connectionString;
            try
            {
                connectionString = ConnectionString(parse.GetValue(config), parse.GetValue(postgres));
            }
            catch (Exception ex) when (ServeConfiguration.IsUnusableFile(ex))
            {
                await error.WriteLineAsync($"Configuration error: {ServeConfiguration.Describe(ex)}");
                return 1;
            }
            if (string.IsNullOrWhiteSpace(connectionString))
            {
                await error.WriteLineAsync("error: no connection string; give --postgres \"Host=…;Database=…\" or set Postgres:ConnectionString");
                return 1;
            }
            try
            {
                await using var dataSource = PostgresConnectionDefaults.CreateBuilder(connectionString).Build();
                var applied = await PostgresSchema.MigrateAsync(dataSource, cancellationToken);
                await output.WriteLineAsync(applied.Count == 0
                    ? $"Schema is up to date (version {PostgresSchema.LatestVersion})."
                    : $"Applied schema version(s) {string.Join(", ", applied)}; now at {PostgresSchema.LatestVersion}.");
                return 0;
            }
            catch (Exception ex) when (ex is NpgsqlException or ArgumentException or TimeoutException)
            {
                await error.WriteLineAsync($"error: migration failed: {ex.Message}");
                return 1;
            }
        });
        db.Subcommands.Add(migrate);
        return db;
    }

    /// <summary>--postgres, else the configuration file, else RESTANTE_POSTGRES__CONNECTIONSTRING.</summary>
    internal static string? ConnectionString(FileInfo? configFile, string? given)
    {
        if (!string.IsNullOrWhiteSpace(given)) return given;
        var configuration = new ConfigurationBuilder();
        if (configFile is not null) configuration.AddJsonFile(configFile.FullName, optional: false);
        configuration.AddEnvironmentVariables("RESTANTE_");
        return configuration.Build()["Postgres:ConnectionString"];
    }
}
