using FsCheck.Xunit;
using Restante.Tests.Infrastructure;
using Restante.Tests.Pop3;

namespace Restante.Tests.Properties;

/// <summary>
/// Random command sequences, disconnects included, against a real server and against a model of
/// RFC 1939 that fits in a few lines: replies and the mailbox left behind must agree.
/// </summary>
public sealed class SessionModelProperties : IAsyncLifetime
{
    private TestServer _server = null!;
    private static int s_user;

    public async Task InitializeAsync() => _server = await TestServer.StartAsync();

    public async Task DisposeAsync() => await _server.DisposeAsync();

    [Property(MaxTest = 40)]
    public async Task<bool> Session_matches_the_model(int seed)
    {
        var random = new Random(seed);
        var user = $"model{Interlocked.Increment(ref s_user)}";
        _server.AddUser(user, "pw");
        var count = random.Next(0, 8);
        for (var i = 0; i < count; i++) _server.Deliver(user, $"Subject: {i}\n\nmessage {i}\n", 1_700_000_000 + i);

        var deleted = new HashSet<int>();
        var errorsInARow = 0;
        var closedByServer = false;
        var c = await _server.LoginAsync(user, "pw");
        var steps = random.Next(1, 25);
        for (var step = 0; step < steps && !closedByServer; step++)
        {
            var n = random.Next(-1, count + 2);
            bool expectOk;
            var multiLine = false;
            switch (random.Next(7))
            {
                case 0:
                    await c.SendAsync($"DELE {n}");
                    expectOk = n >= 1 && n <= count && deleted.Add(n);
                    break;
                case 1:
                    await c.SendAsync("RSET");
                    deleted.Clear();
                    expectOk = true;
                    break;
                case 2:
                    await c.SendAsync($"RETR {n}");
                    expectOk = n >= 1 && n <= count && !deleted.Contains(n);
                    multiLine = expectOk;
                    break;
                case 3:
                    await c.SendAsync("STAT");
                    Assert.Equal($"+OK {count - deleted.Count} ", (await c.ReadLineAsync())![..(5 + (count - deleted.Count).ToString().Length)]);
                    errorsInARow = 0;
                    continue;
                case 4:
                    await c.SendAsync($"LIST {n}");
                    expectOk = n >= 1 && n <= count && !deleted.Contains(n);
                    break;
                case 5:
                    await c.SendAsync(random.Next(2) == 0 ? "XYZZY" : "USER again");
                    expectOk = false;
                    break;
                default:
                    await c.SendAsync("NOOP");
                    expectOk = true;
                    break;
            }
            var reply = await c.ReadLineAsync();
            Assert.NotNull(reply);
            Assert.StartsWith(expectOk ? "+OK" : "-ERR", reply, StringComparison.Ordinal);
            if (multiLine)
                Assert.Equal(new[] { $"Subject: {n - 1}", "", $"message {n - 1}" }, await c.ReadMultiLineAsync());
            errorsInARow = expectOk ? 0 : errorsInARow + 1;
            if (errorsInARow == 10)
            {
                await c.ExpectAsync("-ERR Too many bad commands");
                closedByServer = true;
            }
        }

        var quit = !closedByServer && random.Next(2) == 0;
        if (quit)
        {
            await c.SendAsync("QUIT");
            await c.ExpectAsync("+OK");
            Assert.True(await c.IsClosedAsync());
        }
        else
        {
            c.Abort();
        }

        var expected = Enumerable.Range(1, count).Where(m => !quit || !deleted.Contains(m)).Select(m => $"Subject: {m - 1}\n\nmessage {m - 1}\n").ToHashSet();
        await using var check = await SessionTests.LoginEventuallyAsync(_server, user, "pw");
        var actual = _server.MessageFiles(user).Select(File.ReadAllText).ToHashSet();
        return expected.SetEquals(actual);
    }
}
