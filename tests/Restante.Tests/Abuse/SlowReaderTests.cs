using System.Diagnostics;
using Microsoft.Extensions.Time.Testing;
using Restante.Tests.Infrastructure;
using Restante.Tests.Pop3;

namespace Restante.Tests.Abuse;

public class SlowReaderTests
{
    [Fact]
    public async Task A_client_that_stops_reading_during_retr_is_dropped_after_the_write_timeout_without_blocking_others()
    {
        var time = new FakeTimeProvider();
        await using var server = await TestServer.StartAsync(timeProvider: time);
        server.AddUser("slow", "pw");
        server.AddUser("fast", "pw");
        var big = new byte[16 * 1024 * 1024];
        new Random(1).NextBytes(big);
        server.Deliver("slow", big);
        server.Deliver("fast", "Subject: hi\n\nhello\n");

        // The slow client stays connected, never reads and never closes until the very end: only
        // the server's write timeout can end its session and release its mailbox.
        await using var slow = await server.LoginAsync("slow", "pw");
        await slow.SendAsync("RETR 1");
        await Task.Delay(500);            // let the socket buffers fill up

        await using (var fast = await server.LoginAsync("fast", "pw"))
        {
            await fast.SendAsync("RETR 1");
            await fast.ExpectAsync("+OK");
            Assert.Equal(new[] { "Subject: hi", "", "hello" }, await fast.ReadMultiLineAsync());
            await fast.SendAsync("QUIT");
            await fast.ExpectAsync("+OK");
        }
        await WaitForAsync(() => server.Server.ActiveSessions == 1);

        // Short of the write timeout the stuck session stays, and with it the lock.
        time.Advance(TimeSpan.FromSeconds(110));
        await Task.Delay(300);
        Assert.Equal(1, server.Server.ActiveSessions);
        await using (var early = await server.ConnectAsync())
        {
            await early.ExpectAsync("+OK");
            await early.SendAsync("USER slow");
            await early.ExpectAsync("+OK");
            await early.SendAsync("PASS pw");
            await early.ExpectAsync("-ERR [IN-USE]");
        }

        // Past it (2 minutes) the session is closed and the mailbox released, the slow client still connected.
        time.Advance(TimeSpan.FromSeconds(15));
        await WaitForAsync(() => server.Server.ActiveSessions == 0);
        Assert.Contains(server.Logs.Lines, l => l.Contains("ended: timed out; user slow", StringComparison.Ordinal));
        await using var again = await SessionTests.LoginEventuallyAsync(server, "slow", "pw");
        await again.SendAsync("STAT");
        await again.ExpectAsync("+OK 1 ");
        slow.Abort();
    }

    private static async Task WaitForAsync(Func<bool> condition)
    {
        var watch = Stopwatch.StartNew();
        while (!condition())
        {
            Assert.True(watch.Elapsed < TimeSpan.FromSeconds(20), "timed out waiting");
            await Task.Delay(50);
        }
    }
}
