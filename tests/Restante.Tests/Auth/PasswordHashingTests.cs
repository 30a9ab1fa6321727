using System.Diagnostics;
using System.Text;
using Restante.Auth;
using Restante.Tests.Infrastructure;

namespace Restante.Tests.Auth;

public class PasswordHashingTests
{
    [Fact]
    public async Task Work_runs_on_the_dedicated_threads_never_on_the_thread_pool()
    {
        using var hashing = new PasswordHashing(workers: 2, queueCapacity: 4);
        var onPool = await hashing.RunAsync(() => Thread.CurrentThread.IsThreadPoolThread, CancellationToken.None);
        var name = await hashing.RunAsync(() => Thread.CurrentThread.Name, CancellationToken.None);
        Assert.False(onPool);
        Assert.StartsWith("restante-hash-", name);
    }

    [Fact]
    public async Task A_full_queue_is_refused_at_once_and_its_depth_is_visible()
    {
        using var hashing = new PasswordHashing(workers: 1, queueCapacity: 2);
        using var release = new ManualResetEventSlim();
        var running = hashing.RunAsync(() => release.Wait(TimeSpan.FromSeconds(30)), CancellationToken.None);
        SpinWait.SpinUntil(() => hashing.Running == 1, TimeSpan.FromSeconds(10));
        var queued = new[]
        {
            hashing.RunAsync(() => 1, CancellationToken.None),
            hashing.RunAsync(() => 2, CancellationToken.None),
        };
        Assert.Equal(2, hashing.QueueDepth);
        Assert.Throws<PasswordHashingBusyException>(() => { _ = hashing.RunAsync(() => 3, CancellationToken.None); });   // thrown, not a faulted task

        release.Set();
        Assert.True(await running);
        Assert.Equal(new[] { 1, 2 }, await Task.WhenAll(queued));
        Assert.Equal(0, hashing.QueueDepth);
    }

    [Fact]
    public async Task A_login_past_the_queue_gets_sys_temp_at_once_for_pass_and_for_auth()
    {
        // One worker, one waiting place, and a hash slow enough that six logins at once cannot all find room.
        var argon2 = Argon2TestHash.Create("right", memoryKib: 8 * 1024, passes: 4);
        var delay = TimeSpan.FromSeconds(3);
        await using var server = await TestServer.StartAsync(o =>
        {
            o.PasswordHashWorkers = 1;
            o.PasswordHashQueue = 1;
            o.AuthFailureDelay = delay;
        });
        File.WriteAllText(server.PasswdPath, $"victim:{argon2}\n");

        var viaPass = await Task.WhenAll(Enumerable.Range(0, 6).Select(_ => AttemptAsync(server, "USER victim", "PASS wrong")));
        var plain = Convert.ToBase64String(Encoding.UTF8.GetBytes("\0victim\0wrong"));
        var viaAuth = await Task.WhenAll(Enumerable.Range(0, 6).Select(_ => AttemptAsync(server, null, $"AUTH PLAIN {plain}")));

        foreach (var replies in new[] { viaPass, viaAuth })
        {
            var busy = replies.Where(r => r.Reply.StartsWith("-ERR [SYS/TEMP]", StringComparison.Ordinal)).ToList();
            Assert.NotEmpty(busy);
            // At once: well before the failed-login time, which the others wait out.
            Assert.All(busy, r => Assert.True(r.Elapsed < delay / 2, $"[SYS/TEMP] came after {r.Elapsed}"));
            Assert.Contains(replies, r => r.Reply == "-ERR [AUTH] Authentication failed.");
            Assert.All(replies, r => Assert.True(r.Reply == "-ERR [AUTH] Authentication failed." || busy.Contains(r), r.Reply));
        }
        Assert.Contains(server.Logs.Lines, l => l.Contains("Password hashing is saturated", StringComparison.Ordinal));
    }

    private static async Task<(string Reply, TimeSpan Elapsed)> AttemptAsync(TestServer server, string? user, string attempt)
    {
        await using var c = await server.ConnectAsync();
        await c.ExpectAsync("+OK");
        if (user is not null)
        {
            await c.SendAsync(user);
            await c.ExpectAsync("+OK");
        }
        var watch = Stopwatch.StartNew();
        await c.SendAsync(attempt);
        var reply = await c.ReadLineAsync() ?? "(closed)";
        return (reply, watch.Elapsed);
    }
}
