using System.Collections.Concurrent;
using Npgsql;
using Restante.Postgres;
using Restante.Tests.Infrastructure;

namespace Restante.Tests.Postgres;

/// <summary>The database goes away under a running server: clients are told to come back, nothing acknowledged is lost, and the server recovers by itself.</summary>
[Collection(nameof(PostgresCollection))]
public sealed class PostgresOutageTests
{
    [PostgresFact]
    public async Task A_session_whose_database_goes_away_gets_sys_temp_and_deletes_nothing()
    {
        var cluster = await PostgresCluster.SharedAsync();
        var connectionString = await cluster.CreateDatabaseAsync();
        var ttl = TimeSpan.FromSeconds(3);
        await using var store = new PostgresMailStore(new PostgresStoreOptions { ConnectionString = connectionString, LeaseTtl = ttl });
        await using var server = await TestServer.StartAsync(store: store);
        server.AddUser("alice", "pw");
        for (var i = 0; i < 2; i++)
            await store.DeliverAsync("alice", new MemoryStream(System.Text.Encoding.ASCII.GetBytes($"Subject: {i}\n\n{i}\n")), CancellationToken.None);

        await using (var c = await server.LoginAsync("alice", "pw"))
        {
            await cluster.StopServerAsync();
            try
            {
                await c.SendAsync("RETR 1");
                await c.ExpectAsync("-ERR [SYS/TEMP]");
                await c.SendAsync("DELE 1");
                await c.ExpectAsync("+OK");
                await c.SendAsync("QUIT");
                await c.ExpectAsync("-ERR [SYS/TEMP]");
            }
            finally
            {
                await cluster.StartServerAsync();
            }
        }

        // The lease could not be released while the database was down; it expires by itself.
        var deadline = DateTime.UtcNow + ttl + TimeSpan.FromSeconds(20);
        while (true)
        {
            await using var again = await server.ConnectAsync();
            await again.ExpectAsync("+OK");
            await again.SendAsync("USER alice");
            await again.ExpectAsync("+OK");
            await again.SendAsync("PASS pw");
            var reply = await again.ReadLineAsync() ?? "";
            if (reply.StartsWith("+OK", StringComparison.Ordinal))
            {
                Assert.Contains("2 messages", reply, StringComparison.Ordinal);
                break;
            }
            Assert.Matches(@"^-ERR \[(IN-USE|SYS/TEMP)\]", reply);
            Assert.True(DateTime.UtcNow < deadline, "the mailbox never came back: " + reply);
            await Task.Delay(300);
        }
    }

    [PostgresFact]
    public async Task Restarting_postgres_under_lmtp_load_loses_no_acknowledged_message()
    {
        var cluster = await PostgresCluster.SharedAsync();
        var connectionString = await cluster.CreateDatabaseAsync();
        await using var store = new PostgresMailStore(new PostgresStoreOptions { ConnectionString = connectionString });
        await using var server = await TestServer.StartAsync(store: store);
        server.AddUser("alice", "pw");

        var acknowledged = new ConcurrentBag<string>();
        var temporary = 0;
        using var stop = new CancellationTokenSource();
        async Task SenderAsync()
        {
            while (!stop.IsCancellationRequested)
            {
                var (c, _) = await Restante.Tests.Lmtp.Lmtp.GreetAsync(server);
                await using (c)
                {
                    for (var i = 0; i < 20 && !stop.IsCancellationRequested; i++)
                    {
                        await Restante.Tests.Lmtp.Lmtp.SendMessageAsync(c, "s@example.org", $"Subject: {i}\r\n\r\nbody\r\n", "alice@example.org");
                        var reply = await c.ReadLineAsync() ?? "";
                        if (reply.StartsWith("250 2.0.0", StringComparison.Ordinal)) acknowledged.Add(reply.Split(' ')[^1]);
                        else
                        {
                            Assert.Matches("^45[12] ", reply);
                            Interlocked.Increment(ref temporary);
                        }
                    }
                }
            }
        }

        var senders = Enumerable.Range(0, 4).Select(_ => Task.Run(SenderAsync)).ToArray();
        await Task.Delay(1000);
        await cluster.RestartAsync(TimeSpan.FromSeconds(1));
        var afterRestart = acknowledged.Count;
        await Task.Delay(1500);
        await stop.CancelAsync();
        await Task.WhenAll(senders);

        Assert.True(acknowledged.Count > afterRestart, "no delivery succeeded after the restart");
        await using var dataSource = NpgsqlDataSource.Create(connectionString);
        await using var command = dataSource.CreateCommand("SELECT uidl FROM message");
        var stored = new HashSet<string>();
        await using (var reader = await command.ExecuteReaderAsync())
            while (await reader.ReadAsync()) stored.Add(reader.GetString(0));
        Assert.All(acknowledged, uid => Assert.Contains(uid, stored));
    }
}
