using System.Diagnostics;
using Npgsql;
using Restante.Postgres;
using Restante.Tests.Infrastructure;

namespace Restante.Tests.Postgres;

/// <summary>
/// A throwaway PostgreSQL cluster for the test run: initdb into a temporary directory, pg_ctl
/// start on a free loopback port with its socket in that directory, as the postgres user when we
/// are root (PostgreSQL refuses to run as root). Started on first use, stopped when the test
/// process exits. A template database holds the migrated schema, so each test gets a fresh
/// database with one cheap CREATE DATABASE … TEMPLATE.
/// </summary>
internal sealed class PostgresCluster
{
    private const string Template = "restante_template";
    private static readonly Lazy<string?> s_binDirectory = new(FindBinDirectory);
    private static readonly Lazy<Task<PostgresCluster>> s_shared = new(StartAsync);
    private static long s_databaseCounter;
    private readonly SemaphoreSlim _createLock = new(1, 1);
    private readonly string _root;

    private PostgresCluster(string root, int port)
    {
        _root = root;
        Port = port;
    }

    public int Port { get; }

    /// <summary>Why PostgreSQL tests cannot run here, or null when they can.</summary>
    public static string? Unavailable => s_binDirectory.Value is null
        ? "PostgreSQL server binaries not found under /usr/lib/postgresql/*/bin; test.sh installs them (apt-get install postgresql)."
        : null;

    public static Task<PostgresCluster> SharedAsync() => s_shared.Value;

    public string ConnectionString(string database)
        => new NpgsqlConnectionStringBuilder
        {
            Host = "127.0.0.1",
            Port = Port,
            Username = "postgres",
            Database = database,
            // Tests open many stores; keep each pool small and let closed ones go quickly.
            MaxPoolSize = 20,
            Timeout = 10,
        }.ConnectionString;

    /// <summary>A new, empty database with the schema migrated; returns its connection string.</summary>
    public async Task<string> CreateDatabaseAsync()
    {
        var name = $"t{Environment.ProcessId}_{Interlocked.Increment(ref s_databaseCounter)}";
        await _createLock.WaitAsync();
        try
        {
            await using var admin = NpgsqlDataSource.Create(ConnectionString("postgres"));
            await using var command = admin.CreateCommand($"CREATE DATABASE {name} TEMPLATE {Template}");
            await command.ExecuteNonQueryAsync();
        }
        finally
        {
            _createLock.Release();
        }
        return ConnectionString(name);
    }

    /// <summary>A new database without Restante's schema (for migration tests).</summary>
    public async Task<string> CreateEmptyDatabaseAsync()
    {
        var name = $"e{Environment.ProcessId}_{Interlocked.Increment(ref s_databaseCounter)}";
        await using var admin = NpgsqlDataSource.Create(ConnectionString("postgres"));
        await using var command = admin.CreateCommand($"CREATE DATABASE {name}");
        await command.ExecuteNonQueryAsync();
        return ConnectionString(name);
    }

    /// <summary>Stops and starts the server (fast shutdown): for outage tests.</summary>
    public async Task RestartAsync(TimeSpan downtime)
    {
        await StopServerAsync();
        await Task.Delay(downtime);
        await StartServerAsync();
    }

    /// <summary>Stops the server (fast shutdown: sessions are cut, committed data stays).</summary>
    public Task StopServerAsync() => RunAsync(PgCtl, "-D", DataDirectory, "-m", "fast", "-w", "stop");

    private string DataDirectory => Path.Combine(_root, "data");

    private static string PgCtl => Path.Combine(s_binDirectory.Value!, "pg_ctl");

    private static async Task<PostgresCluster> StartAsync()
    {
        if (Unavailable is { } reason) throw new InvalidOperationException(reason);
        RemoveLeftovers();
        var root = Path.Combine(Path.GetTempPath(), "restante-pg-" + Guid.NewGuid().ToString("N")[..12]);
        Directory.CreateDirectory(root);
        Directory.CreateDirectory(Path.Combine(root, "socket"));
        if (Environment.IsPrivilegedProcess) await RunAsync("chown", "-R", "postgres:", root);
        var cluster = new PostgresCluster(root, ServerProcess.FreePort());
        await RunAsync(Path.Combine(s_binDirectory.Value!, "initdb"), "-D", cluster.DataDirectory, "-U", "postgres",
            "--auth=trust", "-E", "UTF8", "--no-sync", "--no-instructions");
        await cluster.StartServerAsync();
        AppDomain.CurrentDomain.ProcessExit += (_, _) => cluster.Stop();

        await using (var admin = NpgsqlDataSource.Create(cluster.ConnectionString("postgres")))
        await using (var create = admin.CreateCommand($"CREATE DATABASE {Template}"))
            await create.ExecuteNonQueryAsync();
        await using (var template = NpgsqlDataSource.Create(cluster.ConnectionString(Template) + ";Pooling=false"))
            await PostgresSchema.MigrateAsync(template, CancellationToken.None);
        return cluster;
    }

    public Task StartServerAsync()
        => RunAsync(PgCtl, "-D", DataDirectory, "-l", Path.Combine(_root, "server.log"), "-w", "-t", "60",
            "-o", $"-p {Port} -c listen_addresses=127.0.0.1 -k {Path.Combine(_root, "socket")} -c max_connections=300 -c fsync=off -c full_page_writes=off",
            "start");

    private void Stop()
    {
        try
        {
            RunAsync(PgCtl, "-D", DataDirectory, "-m", "immediate", "-w", "stop").GetAwaiter().GetResult();
            Directory.Delete(_root, recursive: true);
        }
        catch (Exception ex) when (ex is IOException or InvalidOperationException or UnauthorizedAccessException)
        {
            // The process is exiting; the temporary directory is left for the OS cleaner.
        }
    }

    /// <summary>
    /// Clusters of earlier runs that are no longer running (no postmaster.pid): the exit handler
    /// stops the server but may not get to finish deleting its files before the process ends.
    /// </summary>
    private static void RemoveLeftovers()
    {
        foreach (var directory in Directory.GetDirectories(Path.GetTempPath(), "restante-pg-*"))
        {
            // A running server, or one another test process is still setting up.
            if (File.Exists(Path.Combine(directory, "data", "postmaster.pid"))) continue;
            if (Directory.GetLastWriteTimeUtc(directory) > DateTime.UtcNow.AddMinutes(-10)) continue;
            try
            {
                Directory.Delete(directory, recursive: true);
            }
            catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
            {
                // Another test process may be creating it right now; it is left alone.
            }
        }
    }

    /// <summary>Runs a PostgreSQL tool, as the postgres user when we are root; throws with its output when it fails.</summary>
    private static async Task RunAsync(string program, params string[] arguments)
    {
        var asPostgres = Environment.IsPrivilegedProcess && program != "chown";
        var start = new ProcessStartInfo(asPostgres ? "runuser" : program)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            WorkingDirectory = Path.GetTempPath(),
        };
        if (asPostgres)
        {
            foreach (var a in new[] { "-u", "postgres", "--", program }) start.ArgumentList.Add(a);
        }
        foreach (var a in arguments) start.ArgumentList.Add(a);
        using var process = Process.Start(start)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        await process.WaitForExitAsync();
        if (process.ExitCode != 0)
            throw new InvalidOperationException($"{program} {string.Join(' ', arguments)} failed ({process.ExitCode}): {await stdout}{await stderr}");
    }

    private static string? FindBinDirectory()
    {
        const string Root = "/usr/lib/postgresql";
        if (!Directory.Exists(Root)) return null;
        return Directory.GetDirectories(Root)
            .Select(d => Path.Combine(d, "bin"))
            .Where(d => File.Exists(Path.Combine(d, "initdb")) && File.Exists(Path.Combine(d, "pg_ctl")))
            .OrderByDescending(d => int.TryParse(Path.GetFileName(Path.GetDirectoryName(d)), out var v) ? v : 0)
            .FirstOrDefault();
    }
}

/// <summary>
/// Every test that uses the cluster: they run one after another, so one of them may restart the
/// server, and two-node tests do not compete with each other for the two cores.
/// </summary>
[CollectionDefinition(nameof(PostgresCollection), DisableParallelization = true)]
public sealed class PostgresCollection;

/// <summary>A fact that needs PostgreSQL server binaries; skipped with the reason when there are none.</summary>
public sealed class PostgresFactAttribute : FactAttribute
{
    public PostgresFactAttribute()
    {
        if (PostgresCluster.Unavailable is { } reason) Skip = reason;
    }
}
