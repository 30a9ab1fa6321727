using Npgsql;
using Restante.Postgres;
using Restante.Storage;
using Restante.Tests.Infrastructure;

namespace Restante.Tests.Postgres;

/// <summary>What only the PostgreSQL store has: fenced leases across nodes, chunked bodies, migrations, outages.</summary>
[Collection(nameof(PostgresCollection))]
public sealed class PostgresStoreTests
{
    private static async Task<(PostgresMailStore Store, string ConnectionString)> NewStoreAsync(TimeSpan? ttl = null)
    {
        var cluster = await PostgresCluster.SharedAsync();
        var connectionString = await cluster.CreateDatabaseAsync();
        return (new PostgresMailStore(new PostgresStoreOptions { ConnectionString = connectionString, LeaseTtl = ttl ?? TimeSpan.FromSeconds(30) }), connectionString);
    }

    private static PostgresMailStore SecondNode(string connectionString, TimeSpan? ttl = null)
        => new(new PostgresStoreOptions { ConnectionString = connectionString, LeaseTtl = ttl ?? TimeSpan.FromSeconds(30) });

    private static async Task<long> ScalarAsync(string connectionString, string sql)
    {
        await using var dataSource = NpgsqlDataSource.Create(connectionString);
        await using var command = dataSource.CreateCommand(sql);
        return Convert.ToInt64(await command.ExecuteScalarAsync(), System.Globalization.CultureInfo.InvariantCulture);
    }

    private static ValueTask<string> DeliverAsync(IMessageDelivery store, string user, string text)
        => store.DeliverAsync(user, new MemoryStream(System.Text.Encoding.ASCII.GetBytes(text)), CancellationToken.None);

    [PostgresFact]
    public async Task A_lease_lost_to_another_node_lets_the_old_session_delete_nothing()
    {
        var (nodeA, connectionString) = await NewStoreAsync();
        await using var _ = nodeA;
        await using var nodeB = SecondNode(connectionString);
        for (var i = 0; i < 3; i++) await DeliverAsync(nodeA, "alice", $"Subject: {i}\n\n{i}\n");

        var stale = await nodeA.OpenAsync("alice", CancellationToken.None);
        Assert.Equal(MailStoreErrorKind.InUse, (await Assert.ThrowsAsync<MailStoreException>(async () => await nodeB.OpenAsync("alice", CancellationToken.None))).Kind);
        // As if node A had stalled past its lease: the database clock says it is over.
        await ScalarAsync(connectionString, "UPDATE mailbox_lease SET expires_at = now() - interval '1 second'");

        await using (var taken = await nodeB.OpenAsync("alice", CancellationToken.None))
        {
            var error = await Assert.ThrowsAsync<MailStoreException>(async () => await stale.ExpungeAsync([0, 1], CancellationToken.None));
            Assert.Equal(MailStoreErrorKind.Transient, error.Kind);
            // The old session's release must not free the new holder's lease either.
            await stale.DisposeAsync();
            Assert.Equal(MailStoreErrorKind.InUse, (await Assert.ThrowsAsync<MailStoreException>(async () => await nodeA.OpenAsync("alice", CancellationToken.None))).Kind);
        }
        Assert.Equal(3, await ScalarAsync(connectionString, "SELECT count(*) FROM message"));
    }

    [PostgresFact]
    public async Task An_expired_lease_nobody_took_still_cannot_apply_its_deletions()
    {
        var (store, connectionString) = await NewStoreAsync();
        await using var _ = store;
        await DeliverAsync(store, "alice", "Subject: 1\n\n1\n");
        await using var drop = await store.OpenAsync("alice", CancellationToken.None);
        await ScalarAsync(connectionString, "UPDATE mailbox_lease SET expires_at = now() - interval '1 second'");
        await Assert.ThrowsAsync<MailStoreException>(async () => await drop.ExpungeAsync([0], CancellationToken.None));
        Assert.Equal(1, await ScalarAsync(connectionString, "SELECT count(*) FROM message"));
    }

    [PostgresFact]
    public async Task Renewal_keeps_a_held_lease_alive_past_its_ttl_and_a_renewal_after_expiry_fails()
    {
        // Lease lifetimes are what is under test here, so this one waits on the clock; the margins are wide.
        var ttl = TimeSpan.FromSeconds(2);
        var (store, connectionString) = await NewStoreAsync(ttl);
        await using var _ = store;
        await using var other = SecondNode(connectionString, ttl);
        await using var drop = await store.OpenAsync("alice", CancellationToken.None);
        await Task.Delay(ttl * 2.5);
        Assert.Equal(MailStoreErrorKind.InUse, (await Assert.ThrowsAsync<MailStoreException>(async () => await other.OpenAsync("alice", CancellationToken.None))).Kind);

        await ScalarAsync(connectionString, "UPDATE mailbox_lease SET expires_at = now() - interval '1 second'");
        await store.RenewLeasesAsync(CancellationToken.None);
        Assert.Equal(0, store.HeldLeases);
    }

    [PostgresFact]
    public async Task A_clean_release_frees_the_mailbox_at_once_for_another_node()
    {
        var (nodeA, connectionString) = await NewStoreAsync();
        await using var _ = nodeA;
        await using var nodeB = SecondNode(connectionString);
        var drop = await nodeA.OpenAsync("alice", CancellationToken.None);
        await drop.DisposeAsync();
        Assert.Equal(0, await ScalarAsync(connectionString, "SELECT count(*) FROM mailbox_lease WHERE expires_at > now()"));
        await using var again = await nodeB.OpenAsync("alice", CancellationToken.None);
    }

    [PostgresFact]
    public async Task Bodies_are_stored_in_chunks_and_collected_once_no_message_refers_to_them()
    {
        var cluster = await PostgresCluster.SharedAsync();
        var connectionString = await cluster.CreateDatabaseAsync();
        await using var store = new PostgresMailStore(new PostgresStoreOptions { ConnectionString = connectionString, ChunkSize = 4096 });
        await DeliverAsync(store, "alice", "Subject: big\n\n" + new string('x', 10_000) + "\n");
        await DeliverAsync(store, "alice", "Subject: small\n\nkeep\n");
        Assert.Equal(4, await ScalarAsync(connectionString, "SELECT count(*) FROM body_chunk"));

        await using (var drop = await store.OpenAsync("alice", CancellationToken.None))
            await drop.ExpungeAsync([0], CancellationToken.None);
        // Young bodies are left alone: a delivery may still be about to refer to one.
        Assert.Equal(0, await store.CollectBodiesAsync(TimeSpan.FromHours(1), CancellationToken.None));
        Assert.Equal(1, await store.CollectBodiesAsync(TimeSpan.Zero, CancellationToken.None));
        Assert.Equal(1, await ScalarAsync(connectionString, "SELECT count(*) FROM body_chunk"));
        await using var after = await store.OpenAsync("alice", CancellationToken.None);
        Assert.Single(after.Messages);
    }

    [PostgresFact]
    public async Task Migrations_run_from_two_nodes_at_once_apply_each_step_once()
    {
        var cluster = await PostgresCluster.SharedAsync();
        var connectionString = await cluster.CreateEmptyDatabaseAsync();
        await using var first = NpgsqlDataSource.Create(connectionString);
        await using var second = NpgsqlDataSource.Create(connectionString);
        Assert.Equal(0, await PostgresSchema.GetVersionAsync(first, CancellationToken.None));
        var runs = await Task.WhenAll(
            PostgresSchema.MigrateAsync(first, CancellationToken.None),
            PostgresSchema.MigrateAsync(second, CancellationToken.None));
        Assert.Equal(PostgresSchema.LatestVersion, runs.Sum(r => r.Count));
        Assert.Empty(await PostgresSchema.MigrateAsync(first, CancellationToken.None));
        Assert.Equal(PostgresSchema.LatestVersion, await PostgresSchema.GetVersionAsync(second, CancellationToken.None));
    }

    [PostgresFact]
    public async Task An_unreachable_database_is_a_temporary_failure_for_pop3_and_lmtp()
    {
        // A port nobody listens on: the database is down.
        var down = new NpgsqlConnectionStringBuilder { Host = "127.0.0.1", Port = ServerProcess.FreePort(), Username = "postgres", Database = "x", Timeout = 3 }.ConnectionString;
        await using var store = new PostgresMailStore(new PostgresStoreOptions { ConnectionString = down });
        await using var server = await TestServer.StartAsync(store: store);
        server.AddUser("alice", "pw");

        await using var pop3 = await server.ConnectAsync();
        await pop3.ExpectAsync("+OK");
        await pop3.SendAsync("USER alice");
        await pop3.ExpectAsync("+OK");
        await pop3.SendAsync("PASS pw");
        await pop3.ExpectAsync("-ERR [SYS/TEMP]");

        var (lmtp, _) = await Restante.Tests.Lmtp.Lmtp.GreetAsync(server);
        await using (lmtp)
        {
            await Restante.Tests.Lmtp.Lmtp.SendMessageAsync(lmtp, "s@example.org", Restante.Tests.Lmtp.Lmtp.Message, "alice@example.org");
            var reply = await lmtp.ReadLineAsync();
            Assert.Matches("^45[12] ", reply);
        }
    }

    [PostgresFact]
    public async Task After_a_database_restart_the_store_recovers_by_itself()
    {
        var cluster = await PostgresCluster.SharedAsync();
        var connectionString = await cluster.CreateDatabaseAsync();
        await using var store = new PostgresMailStore(new PostgresStoreOptions { ConnectionString = connectionString });
        await DeliverAsync(store, "alice", "Subject: before\n\nbefore\n");
        await using (await store.OpenAsync("alice", CancellationToken.None))
        {
        }

        await cluster.RestartAsync(TimeSpan.FromMilliseconds(200));

        // The pool's connections died with the server. A call may fail once, as a temporary
        // failure; the next ones must work without anything being restarted here.
        string? uid = null;
        for (var attempt = 0; attempt < 5 && uid is null; attempt++)
        {
            try
            {
                uid = await DeliverAsync(store, "alice", "Subject: after\n\nafter\n");
            }
            catch (MailStoreException ex) when (ex.Kind == MailStoreErrorKind.Transient)
            {
                await Task.Delay(200);
            }
        }
        Assert.NotNull(uid);
        await using var drop = await store.OpenAsync("alice", CancellationToken.None);
        Assert.Equal(2, drop.Messages.Count);
    }
}
