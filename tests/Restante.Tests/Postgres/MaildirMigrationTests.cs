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

    private sealed class MessageComparer : IEqualityComparer<(string Uid, long Size, byte[] Bytes)>
    {
        public bool Equals((string Uid, long Size, byte[] Bytes) x, (string Uid, long Size, byte[] Bytes) y)
            => x.Uid == y.Uid && x.Size == y.Size && x.Bytes.AsSpan().SequenceEqual(y.Bytes);

        public int GetHashCode((string Uid, long Size, byte[] Bytes) obj) => obj.Uid.GetHashCode(StringComparison.Ordinal);
    }
}
