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

        var slow = await server.LoginAsync("slow", "pw");
        await slow.SendAsync("RETR 1");   // and never read the reply
        await Task.Delay(500);            // let the socket buffers fill up

        await using (var fast = await server.LoginAsync("fast", "pw"))
        {
            await fast.SendAsync("RETR 1");
            await fast.ExpectAsync("+OK");
            Assert.Equal(new[] { "Subject: hi", "", "hello" }, await fast.ReadMultiLineAsync());
            await fast.SendAsync("QUIT");
            await fast.ExpectAsync("+OK");
        }

        // Past the write timeout the stuck session is closed and its mailbox lock released.
        var watch = Stopwatch.StartNew();
        while (server.Server.ActiveSessions > 1 && watch.Elapsed < TimeSpan.FromSeconds(10))
        {
            time.Advance(TimeSpan.FromSeconds(30));
            await Task.Delay(50);
        }
        Assert.True(server.Server.ActiveSessions <= 1, $"{server.Server.ActiveSessions} sessions still open");
        slow.Abort();
        await using var again = await SessionTests.LoginEventuallyAsync(server, "slow", "pw");
        await again.SendAsync("STAT");
        await again.ExpectAsync("+OK 1 ");
    }
}
