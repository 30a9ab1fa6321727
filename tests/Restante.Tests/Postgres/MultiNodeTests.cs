using System.Diagnostics;
using System.Text.Json;
using Npgsql;
using Restante.Tests.Infrastructure;

namespace Restante.Tests.Postgres;

/// <summary>
/// Two (in one test three) real `restante serve` processes over one PostgreSQL database, as behind a load balancer:
/// the RFC 1939 exclusive lock holds across them, a dead or stalled node's session deletes
/// nothing, and its mailboxes come free within the lease TTL (3 s here).
/// </summary>
[Collection(nameof(PostgresCollection))]
public sealed class MultiNodeTests : IAsyncLifetime
{
    private static readonly TimeSpan s_ttl = TimeSpan.FromSeconds(3);
    private readonly List<TempDirectory> _directories = [];
    private string _connectionString = "";
    private ServerProcess _a = null!;
    private ServerProcess _b = null!;
    private ServerProcess? _c;

    public async Task InitializeAsync()
    {
        if (PostgresCluster.Unavailable is not null) return;
        var cluster = await PostgresCluster.SharedAsync();
        _connectionString = await cluster.CreateDatabaseAsync();
        _a = await StartNodeAsync();
        _b = await StartNodeAsync();
    }

    private async Task<ServerProcess> StartNodeAsync()
    {
        var data = new TempDirectory();
        _directories.Add(data);
        await File.WriteAllTextAsync(Path.Combine(data.Path, "passwd"), "alice:{PLAIN}pw::::::\n");
        var config = Path.Combine(data.Path, "restante.json");
        await File.WriteAllTextAsync(config, JsonSerializer.Serialize(new
        {
            Store = "postgres",
            Postgres = new { ConnectionString = _connectionString, LeaseTtl = s_ttl.ToString() },
            Tls = false,
            AuthFailureDelay = "00:00:00.050",
        }));
        return await ServerProcess.StartAsync(data.Path, null, "--config", config);
    }

    public async Task DisposeAsync()
    {
        foreach (var node in new[] { _a, _b, _c })
        {
            if (node is null) continue;
            node.Signal("CONT");
            await node.DisposeAsync();
        }
        foreach (var directory in _directories) directory.Dispose();
    }

    private static async Task<Transcript> LoginAsync(ServerProcess node, string expect = "+OK")
    {
        var (c, reply) = await TryLoginAsync(node);
        Assert.StartsWith(expect, reply, StringComparison.Ordinal);
        return c;
    }

    /// <summary>USER/PASS; returns the connection and the answer to PASS.</summary>
    private static async Task<(Transcript Client, string Reply)> TryLoginAsync(ServerProcess node)
    {
        var c = await node.ConnectAsync();
        await c.ExpectAsync("+OK");
        await c.SendAsync("USER alice");
        await c.ExpectAsync("+OK");
        await c.SendAsync("PASS pw");
        return (c, await c.ReadLineAsync() ?? "");
    }

    private static async Task DeliverAsync(ServerProcess node, int count, string tag)
    {
        await using var c = await node.ConnectLmtpAsync();
        await c.ExpectAsync("220 ");
        await c.SendAsync("LHLO test");
        await Restante.Tests.Lmtp.Lmtp.ReadReplyAsync(c);
        for (var i = 0; i < count; i++)
        {
            await Restante.Tests.Lmtp.Lmtp.SendMessageAsync(c, "s@example.org", $"Subject: {tag} {i}\r\n\r\nbody {i}\r\n", "alice@example.org");
            await c.ExpectAsync("250 2.0.0");
        }
    }

    private async Task<long> CountMessagesAsync()
    {
        await using var dataSource = NpgsqlDataSource.Create(_connectionString);
        await using var command = dataSource.CreateCommand("SELECT count(*) FROM message");
        return (long)(await command.ExecuteScalarAsync())!;
    }

    private static async Task<int> StatAsync(Transcript c)
    {
        await c.SendAsync("STAT");
        var reply = await c.ExpectAsync("+OK ");
        return int.Parse(reply.Split(' ')[1], System.Globalization.CultureInfo.InvariantCulture);
    }

    [PostgresFact]
    public async Task A_mailbox_open_on_one_node_is_in_use_on_the_other_until_quit()
    {
        await DeliverAsync(_a, 2, "x");
        await using (var onA = await LoginAsync(_a))
        {
            await using (var onB = await LoginAsync(_b, "-ERR [IN-USE]"))
            {
            }
            await onA.SendAsync("QUIT");
            await onA.ExpectAsync("+OK");
            // The lease goes as the session ends, which the client sees as the connection closing.
            Assert.True(await onA.IsClosedAsync());
        }
        await using var again = await LoginAsync(_b);
        Assert.Equal(2, await StatAsync(again));
    }

    [PostgresFact]
    public async Task With_three_nodes_a_mailbox_open_on_one_is_in_use_on_both_others_until_quit()
    {
        _c = await StartNodeAsync();
        await DeliverAsync(_c, 3, "x");
        await using (var onA = await LoginAsync(_a))
        {
            await using (await LoginAsync(_b, "-ERR [IN-USE]"))
            await using (await LoginAsync(_c, "-ERR [IN-USE]"))
            {
            }
            await onA.SendAsync("DELE 1");
            await onA.ExpectAsync("+OK");
            await onA.SendAsync("QUIT");
            await onA.ExpectAsync("+OK");
            Assert.True(await onA.IsClosedAsync());
        }
        // Now C holds it, and A and B are refused.
        await using (var onC = await LoginAsync(_c))
        {
            Assert.Equal(2, await StatAsync(onC));
            await using (await LoginAsync(_a, "-ERR [IN-USE]"))
            await using (await LoginAsync(_b, "-ERR [IN-USE]"))
            {
            }
            await onC.SendAsync("QUIT");
            await onC.ExpectAsync("+OK");
            Assert.True(await onC.IsClosedAsync());
        }
        await using var onB = await LoginAsync(_b);
        Assert.Equal(2, await StatAsync(onB));
    }

    [PostgresFact]
    public async Task A_node_killed_mid_session_frees_the_mailbox_within_the_ttl_and_deletes_nothing()
    {
        await DeliverAsync(_b, 3, "k");
        var onA = await LoginAsync(_a);
        await onA.SendAsync("DELE 1");
        await onA.ExpectAsync("+OK");
        await onA.SendAsync("DELE 2");
        await onA.ExpectAsync("+OK");
        _a.Signal("KILL");
        await _a.WaitForExitAsync(TimeSpan.FromSeconds(30));
        onA.Abort();
        await onA.DisposeAsync();

        var clock = Stopwatch.StartNew();
        Transcript? onB = null;
        while (onB is null)
        {
            var (attempt, reply) = await TryLoginAsync(_b);
            if (reply.StartsWith("+OK", StringComparison.Ordinal)) onB = attempt;
            else
            {
                Assert.StartsWith("-ERR [IN-USE]", reply, StringComparison.Ordinal);
                await attempt.DisposeAsync();
                Assert.True(clock.Elapsed < s_ttl + TimeSpan.FromSeconds(15), "node B never got the mailbox");
                await Task.Delay(250);
            }
        }
        await using (onB)
        {
            // Within the TTL plus one renewal interval and generous slack for a loaded machine.
            Assert.True(clock.Elapsed < s_ttl + TimeSpan.FromSeconds(10), $"took {clock.Elapsed}");
            Assert.Equal(3, await StatAsync(onB));
        }
    }

    [PostgresFact]
    public async Task A_node_stalled_past_its_lease_cannot_apply_its_quit()
    {
        await DeliverAsync(_b, 3, "s");
        await using var onA = await LoginAsync(_a);
        await onA.SendAsync("DELE 1");
        await onA.ExpectAsync("+OK");
        _a.Signal("STOP");
        try
        {
            await Task.Delay(s_ttl + TimeSpan.FromSeconds(1.5));
            // Node B takes the mailbox over while A is frozen, and is still in it when A wakes.
            await using var onB = await LoginAsync(_b);
            _a.Signal("CONT");
            await onA.SendAsync("QUIT");
            await onA.ExpectAsync("-ERR [SYS/TEMP]");
            Assert.Equal(3, await StatAsync(onB));
        }
        finally
        {
            _a.Signal("CONT");
        }
        Assert.Equal(3, await CountMessagesAsync());
    }

    [PostgresFact]
    public async Task Quit_racing_deliveries_on_the_other_node_loses_nothing()
    {
        long delivered = 0, deleted = 0;
        await DeliverAsync(_b, 10, "seed");
        delivered += 10;
        for (var round = 0; round < 4; round++)
        {
            var deliveries = DeliverAsync(_b, 15, $"r{round}");
            await using (var onA = await LoginAsync(_a))
            {
                var count = await StatAsync(onA);
                for (var i = 1; i <= count; i++)
                {
                    await onA.SendAsync($"DELE {i}");
                    await onA.ExpectAsync("+OK");
                }
                await onA.SendAsync("QUIT");
                await onA.ExpectAsync("+OK");
                Assert.True(await onA.IsClosedAsync());
                deleted += count;
            }
            await deliveries;
            delivered += 15;
        }
        var remaining = await CountMessagesAsync();
        Assert.Equal(delivered, deleted + remaining);
        Assert.True(deleted > 0);
    }
}
