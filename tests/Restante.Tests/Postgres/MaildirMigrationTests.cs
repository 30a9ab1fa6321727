using System.Text;
using Restante.Postgres;
using Restante.Storage;
using Restante.Storage.Maildir;
using Restante.Tests.Infrastructure;

namespace Restante.Tests.Postgres;

/// <summary>`restante migrate maildir-to-postgres`: every UIDL kept exactly, the bytes the same, resumable.</summary>
[Collection(nameof(PostgresCollection))]
public sealed class MaildirMigrationTests
{
    private static Task<(int ExitCode, string Output)> RunCliAsync(params string[] arguments)
        => Restante.Tests.Tls.Processes.RunAsync("dotnet", null, [ServerProcess.CliPath, .. arguments]);

    private static async Task<List<(string Uid, long Size, byte[] Bytes)>> ReadAllAsync(IMailStore store, string user)
    {
        var result = new List<(string, long, byte[])>();
        await using var drop = await store.OpenAsync(user, CancellationToken.None);
        for (var i = 0; i < drop.Messages.Count; i++)
        {
            await using var stream = await drop.OpenMessageAsync(i, CancellationToken.None);
            using var copy = new MemoryStream();
            await stream.CopyToAsync(copy);
            result.Add((drop.Messages[i].Uid, drop.Messages[i].Size, copy.ToArray()));
        }
        return result;
    }

    [PostgresFact]
    public async Task Maildirs_are_copied_with_their_uidls_and_a_second_run_copies_only_what_is_new()
    {
        var cluster = await PostgresCluster.SharedAsync();
        var connectionString = await cluster.CreateDatabaseAsync();
        using var data = new TempDirectory();
        await File.WriteAllTextAsync(Path.Combine(data.Path, "passwd"), "alice:{PLAIN}a::::::\nbob:{PLAIN}b::::::\ncarol:{PLAIN}c::::::\n");
        var maildirs = new MaildirStore(Path.Combine(data.Path, "mail", "%u"), fsync: false);
        for (var i = 0; i < 3; i++)
            await maildirs.DeliverAsync("alice", new MemoryStream(Encoding.ASCII.GetBytes($"Subject: {i}\n\n.dot line {i}\nbare LF\r\n")), CancellationToken.None);
        await maildirs.DeliverAsync("bob", new MemoryStream("Subject: b\n\nb\n"u8.ToArray()), CancellationToken.None);
        // A name written by another delivery agent, too long for a UIDL: Restante serves a hash of it.
        var odd = Path.Combine(data.Path, "mail", "alice", "cur", "1700000000." + new string('x', 90) + ".host:2,S");
        await File.WriteAllTextAsync(odd, "Subject: odd\n\nodd\n");

        var first = await RunCliAsync("migrate", "maildir-to-postgres", "--postgres", connectionString, "--data", data.Path);
        Assert.True(first.ExitCode == 0, first.Output);

        await using var postgres = new PostgresMailStore(new PostgresStoreOptions { ConnectionString = connectionString });
        foreach (var user in new[] { "alice", "bob", "carol" })
            Assert.Equal(await ReadAllAsync(maildirs, user), await ReadAllAsync(postgres, user), new MessageComparer());
        Assert.Equal(4, (await ReadAllAsync(postgres, "alice")).Count);

        await maildirs.DeliverAsync("alice", new MemoryStream("Subject: late\n\nlate\n"u8.ToArray()), CancellationToken.None);
        var second = await RunCliAsync("migrate", "maildir-to-postgres", "--postgres", connectionString, "--data", data.Path, "-u", "alice");
        Assert.True(second.ExitCode == 0, second.Output);
        var after = await ReadAllAsync(postgres, "alice");
        Assert.Equal(await ReadAllAsync(maildirs, "alice"), after, new MessageComparer());
        Assert.Equal(5, after.Count);
    }

    [PostgresFact]
    public async Task Retained_messages_and_policy_state_are_copied_and_a_second_run_adds_nothing()
    {
        var cluster = await PostgresCluster.SharedAsync();
        var connectionString = await cluster.CreateDatabaseAsync();
        using var data = new TempDirectory();
        await File.WriteAllTextAsync(Path.Combine(data.Path, "passwd"), "alice:{PLAIN}a::::::\n");
        // Whole seconds: restante-policy keeps seconds.
        var clock = new Microsoft.Extensions.Time.Testing.FakeTimeProvider(new DateTimeOffset(2026, 3, 14, 15, 9, 26, TimeSpan.Zero));
        var maildirs = new MaildirStore(Path.Combine(data.Path, "mail", "%u"), null, fsync: false, clock, retentionDays: 30);
        for (var i = 0; i < 3; i++)
            await maildirs.DeliverAsync("alice", new MemoryStream(Encoding.ASCII.GetBytes($"Subject: {i}\n\nbody {i}\n")), CancellationToken.None);
        var login = clock.GetUtcNow();
        string[] uids;
        await using (var session = await maildirs.OpenAsync("alice", CancellationToken.None))
        {
            uids = session.Messages.Select(m => m.Uid).ToArray();
            await ((IPolicyMaildrop)session).SavePolicyStateAsync(new PolicyStateUpdate(login, [0, 1], login.AddMinutes(1)), CancellationToken.None);
            // Message 1 is deleted, and kept (Retention:Days) in restante-retained.
            await session.ExpungeAsync([1], CancellationToken.None);
        }

        var first = await RunCliAsync("migrate", "maildir-to-postgres", "--postgres", connectionString, "--data", data.Path);
        Assert.True(first.ExitCode == 0, first.Output);
        Assert.Contains("alice: 2 messages, 1 retained", first.Output, StringComparison.Ordinal);

        await using var postgres = new PostgresMailStore(new PostgresStoreOptions { ConnectionString = connectionString }, null, clock, retentionDays: 30);
        await using (var drop = (IPolicyMaildrop)await postgres.OpenAsync("alice", CancellationToken.None))
        {
            Assert.Equal([uids[0], uids[2]], drop.Messages.Select(m => m.Uid));
            Assert.Equal(login, drop.LastLogin);
            Assert.Equal(login.AddMinutes(1), drop.FirstRetrieved(0));
            Assert.Null(drop.FirstRetrieved(1));
        }

        // Run again: nothing doubles, nothing retained comes back.
        var second = await RunCliAsync("migrate", "maildir-to-postgres", "--postgres", connectionString, "--data", data.Path);
        Assert.True(second.ExitCode == 0, second.Output);
        Assert.Equal(2, (await ReadAllAsync(postgres, "alice")).Count);

        // The retained message is there to restore, with its unique-id and bytes (it comes back last: uids only grow).
        Assert.Equal(1, await postgres.RestoreAsync("alice", since: null, CancellationToken.None));
        Assert.Equal(1, await maildirs.RestoreAsync("alice", since: null, CancellationToken.None));
        Assert.Equal((await ReadAllAsync(maildirs, "alice")).OrderBy(m => m.Uid, StringComparer.Ordinal), (await ReadAllAsync(postgres, "alice")).OrderBy(m => m.Uid, StringComparer.Ordinal), new MessageComparer());
    }

    [PostgresFact]
    public async Task A_rerun_brings_back_what_retention_restore_put_back_and_never_what_a_postgres_session_deleted()
    {
        var cluster = await PostgresCluster.SharedAsync();
        var connectionString = await cluster.CreateDatabaseAsync();
        using var data = new TempDirectory();
        await File.WriteAllTextAsync(Path.Combine(data.Path, "passwd"), "alice:{PLAIN}a::::::\n");
        var clock = new Microsoft.Extensions.Time.Testing.FakeTimeProvider(new DateTimeOffset(2026, 3, 14, 15, 9, 26, TimeSpan.Zero));
        var maildirs = new MaildirStore(Path.Combine(data.Path, "mail", "%u"), null, fsync: false, clock, retentionDays: 30);
        for (var i = 0; i < 3; i++)
            await maildirs.DeliverAsync("alice", new MemoryStream(Encoding.ASCII.GetBytes($"Subject: {i}\n\nbody {i}\n")), CancellationToken.None);
        string[] uids;
        await using (var session = await maildirs.OpenAsync("alice", CancellationToken.None))
        {
            uids = session.Messages.Select(m => m.Uid).ToArray();
            await session.ExpungeAsync([1], CancellationToken.None);
        }
        var first = await RunCliAsync("migrate", "maildir-to-postgres", "--postgres", connectionString, "--data", data.Path);
        Assert.True(first.ExitCode == 0, first.Output);
        Assert.Contains("alice: 2 messages, 1 retained", first.Output, StringComparison.Ordinal);

        // Before the cutover is final: the administrator restores message 1 in the Maildir, and alice, already on a
        // PostgreSQL node, deletes message 0 there (kept: Retention:Days).
        Assert.Equal(1, await maildirs.RestoreAsync("alice", since: null, CancellationToken.None));
        await using var postgres = new PostgresMailStore(new PostgresStoreOptions { ConnectionString = connectionString }, null, clock, retentionDays: 30);
        await using (var session = await postgres.OpenAsync("alice", CancellationToken.None))
        {
            Assert.Equal([uids[0], uids[2]], session.Messages.Select(m => m.Uid));
            await session.ExpungeAsync([0], CancellationToken.None);
        }

        var second = await RunCliAsync("migrate", "maildir-to-postgres", "--postgres", connectionString, "--data", data.Path);
        Assert.True(second.ExitCode == 0, second.Output);
        Assert.Contains("alice: 3 messages, 1 restored", second.Output, StringComparison.Ordinal);
        // Message 1 is back, with its bytes; message 0 stays deleted (and still restorable in PostgreSQL).
        var live = await ReadAllAsync(postgres, "alice");
        Assert.Equal(new[] { uids[1], uids[2] }.Order(StringComparer.Ordinal), live.Select(m => m.Uid).Order(StringComparer.Ordinal));
        var inMaildir = await ReadAllAsync(maildirs, "alice");
        Assert.Equal(inMaildir.Where(m => m.Uid != uids[0]).OrderBy(m => m.Uid, StringComparer.Ordinal), live.OrderBy(m => m.Uid, StringComparer.Ordinal), new MessageComparer());
        var third = await RunCliAsync("migrate", "maildir-to-postgres", "--postgres", connectionString, "--data", data.Path);
        Assert.True(third.ExitCode == 0, third.Output);
        Assert.Contains("alice: 3 messages\n", third.Output.ReplaceLineEndings("\n"), StringComparison.Ordinal);
        Assert.Equal(2, (await ReadAllAsync(postgres, "alice")).Count);
        Assert.Equal(1, await postgres.RestoreAsync("alice", since: null, CancellationToken.None));
    }

    [PostgresFact]
    public async Task A_huge_maildir_never_seen_before_is_copied_whole_in_one_run()
    {
        var cluster = await PostgresCluster.SharedAsync();
        var connectionString = await cluster.CreateDatabaseAsync();
        using var data = new TempDirectory();
        // Names without ,W=: every size must be read. With no sizing budget at all, the first open leaves them all
        // unsized, past MaildirIndex.BackgroundSizingThreshold: the store refuses the open and sizes in the background.
        var count = MaildirIndex.BackgroundSizingThreshold + 76;
        var newFolder = Path.Combine(data.Path, "mail", "alice", "new");
        Directory.CreateDirectory(newFolder);
        Directory.CreateDirectory(Path.Combine(data.Path, "mail", "alice", "cur"));
        Directory.CreateDirectory(Path.Combine(data.Path, "mail", "alice", "tmp"));
        for (var i = 0; i < count; i++)
            await File.WriteAllTextAsync(Path.Combine(newFolder, $"1700000000.M{i}P1.host"), $"Subject: {i}\n\nbody {i}\n");
        var source = new MaildirStore(Path.Combine(data.Path, "mail", "%u"), null, fsync: false, TimeProvider.System, sizingBudget: TimeSpan.Zero);
        await using var postgres = new PostgresMailStore(new PostgresStoreOptions { ConnectionString = connectionString });

        var result = await Restante.Cli.MaildirToPostgres.CopyAsync(source, postgres, "alice", CancellationToken.None);

        Assert.Equal(count, result.Messages);
        var listed = await postgres.ListAsync("alice", CancellationToken.None);
        Assert.Equal(count, listed.Count);
        Assert.Equal(await source.ListAsync("alice", CancellationToken.None), listed);
    }

    /// <summary>
    /// --config gives the command the store serve would write to: the connection string and Postgres:CompressBodies from
    /// the file, so migrated bodies are stored compressed as the server's own deliveries are. Without --config the command
    /// could not be told to compress (it wrote raw rows whatever the file said).
    /// </summary>
    [PostgresFact]
    public Task Compressed_bodies_when_the_configuration_file_says_so() => MigrateWithConfigAsync(compress: true);

    [PostgresFact]
    public Task Raw_bodies_when_the_configuration_file_says_so() => MigrateWithConfigAsync(compress: false);

    private static async Task MigrateWithConfigAsync(bool compress)
    {
        var cluster = await PostgresCluster.SharedAsync();
        var connectionString = await cluster.CreateDatabaseAsync();
        using var data = new TempDirectory();
        await File.WriteAllTextAsync(Path.Combine(data.Path, "passwd"), "alice:{PLAIN}a::::::\n");
        var maildirs = new MaildirStore(Path.Combine(data.Path, "mail", "%u"), fsync: false);
        // Lines that compress far below an eighth of their size.
        var body = string.Concat(Enumerable.Range(0, 600).Select(i => $"line {i % 10} of a message that repeats itself\n"));
        await maildirs.DeliverAsync("alice", new MemoryStream(Encoding.ASCII.GetBytes("Subject: long\n\n" + body)), CancellationToken.None);
        var config = Path.Combine(data.Path, "restante.json");
        await File.WriteAllTextAsync(config, System.Text.Json.JsonSerializer.Serialize(new
        {
            Postgres = new { ConnectionString = connectionString, CompressBodies = compress },
        }));

        var run = await RunCliAsync("migrate", "maildir-to-postgres", "--config", config, "--data", data.Path);
        Assert.True(run.ExitCode == 0, run.Output);

        await using var postgres = new PostgresMailStore(new PostgresStoreOptions { ConnectionString = connectionString });
        Assert.Equal(await ReadAllAsync(maildirs, "alice"), await ReadAllAsync(postgres, "alice"), new MessageComparer());
        await using var dataSource = Npgsql.NpgsqlDataSource.Create(connectionString);
        await using var frames = dataSource.CreateCommand("SELECT count(*) FROM body_chunk WHERE frame_rows > 0");
        var compressed = Convert.ToInt64(await frames.ExecuteScalarAsync(), System.Globalization.CultureInfo.InvariantCulture);
        if (compress) Assert.True(compressed > 0, "no body was stored compressed");
        else Assert.Equal(0, compressed);
    }

    /// <summary>
    /// A Maildir served with a previous server's UIDLs (UidlSource "map" here) moves with those UIDLs, not Restante's own:
    /// --config once gave the command the file's UidlSource and then read the Maildirs with native UIDLs, so every client
    /// would have downloaded everything again after the move.
    /// </summary>
    [PostgresFact]
    public async Task The_UIDLs_the_configuration_serves_are_the_UIDLs_migrated()
    {
        var cluster = await PostgresCluster.SharedAsync();
        var connectionString = await cluster.CreateDatabaseAsync();
        using var data = new TempDirectory();
        await File.WriteAllTextAsync(Path.Combine(data.Path, "passwd"), "alice:{PLAIN}a::::::\n");
        var maildir = Path.Combine(data.Path, "mail", "alice");
        var maildirs = new MaildirStore(Path.Combine(data.Path, "mail", "%u"), fsync: false);
        await maildirs.DeliverAsync("alice", new MemoryStream("Subject: one\n\none\n"u8.ToArray()), CancellationToken.None);
        await maildirs.DeliverAsync("alice", new MemoryStream("Subject: two\n\ntwo\n"u8.ToArray()), CancellationToken.None);
        var names = Directory.GetFiles(Path.Combine(maildir, "new")).Select(Path.GetFileName).Order(StringComparer.Ordinal).ToArray();
        Assert.Equal(2, names.Length);
        await File.WriteAllTextAsync(Path.Combine(maildir, "uidl-map"), $"{names[0]} OLD-ONE\n{names[1]} OLD-TWO\n");
        var config = Path.Combine(data.Path, "restante.json");
        await File.WriteAllTextAsync(config, System.Text.Json.JsonSerializer.Serialize(new
        {
            UidlSource = "map",
            Postgres = new { ConnectionString = connectionString },
        }));

        var run = await RunCliAsync("migrate", "maildir-to-postgres", "--config", config, "--data", data.Path);
        Assert.True(run.ExitCode == 0, run.Output);

        await using var postgres = new PostgresMailStore(new PostgresStoreOptions { ConnectionString = connectionString });
        var uids = (await ReadAllAsync(postgres, "alice")).Select(m => m.Uid).Order(StringComparer.Ordinal).ToArray();
        Assert.Equal(["OLD-ONE", "OLD-TWO"], uids);
    }

    [Fact]
    public async Task A_store_setting_that_does_not_convert_is_one_configuration_error_line()
    {
        using var data = new TempDirectory();
        var config = Path.Combine(data.Path, "restante.json");
        await File.WriteAllTextAsync(config, """{ "Postgres": { "ConnectionString": "Host=nowhere", "CompressBodies": "maybe" } }""");

        var run = await RunCliAsync("migrate", "maildir-to-postgres", "--config", config, "--data", data.Path);

        Assert.Equal(1, run.ExitCode);
        Assert.Contains("restante migrate maildir-to-postgres: configuration error: Failed to convert configuration value 'maybe' at 'Postgres:CompressBodies'",
            run.Output, StringComparison.Ordinal);
    }

    private sealed class MessageComparer : IEqualityComparer<(string Uid, long Size, byte[] Bytes)>
    {
        public bool Equals((string Uid, long Size, byte[] Bytes) x, (string Uid, long Size, byte[] Bytes) y)
            => x.Uid == y.Uid && x.Size == y.Size && x.Bytes.AsSpan().SequenceEqual(y.Bytes);

        public int GetHashCode((string Uid, long Size, byte[] Bytes) obj) => obj.Uid.GetHashCode(StringComparison.Ordinal);
    }
}
