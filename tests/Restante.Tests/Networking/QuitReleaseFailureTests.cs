using Restante.Tests.Infrastructure;

namespace Restante.Tests.Networking;

/// <summary>
/// QUIT when the store throws while letting the mailbox go, with an error that is neither IOException nor
/// MailStoreException (a database driver's own): the deletions are already applied, so the client still gets the +OK
/// that says so (RFC 1939 §6), the failure is logged, and the session ends cleanly: connection closed, session
/// unregistered, the server serving and the mailbox free. Before, the exception ended the session with no reply.
/// </summary>
public sealed class QuitReleaseFailureTests
{
    [Theory]
    [InlineData(true)]    // UPDATE removes a message, then the release throws
    [InlineData(false)]   // nothing marked: the release alone, then the reply
    public async Task A_store_that_throws_while_releasing_at_quit_still_answers_ok_and_ends_the_session(bool delete)
    {
        var store = new ReleaseFailingStore();
        store.Inner.Add("alice", "Subject: one\r\n\r\nbody\r\n"u8.ToArray());
        store.Inner.Add("alice", "Subject: two\r\n\r\nbody\r\n"u8.ToArray());
        await using var server = await TestServer.StartAsync(store: store);
        server.AddUser("alice", "secret");

        await using (var client = await server.LoginAsync("alice", "secret"))
        {
            if (delete)
            {
                await client.SendAsync("DELE 1");
                await client.ExpectAsync("+OK");
            }
            await client.SendAsync("QUIT");
            await client.ExpectAsync(delete ? "+OK Logging out, 1 messages deleted." : "+OK Logging out.");
            Assert.True(await client.IsClosedAsync());
        }

        await WaitForAsync(() => server.Server.Sessions.Count == 0 && server.Server.ActiveSessions == 0,
            () => $"sessions {server.Server.Sessions.Count}, connections {server.Server.ActiveSessions}");
        Assert.Equal(1, store.Releases);
        Assert.Contains(server.Logs.Lines, l => l.Contains("was not let go cleanly at QUIT", StringComparison.Ordinal));

        // The deletion stands, and the mailbox is free again (the release got as far as the lock).
        await using var next = await server.LoginAsync("alice", "secret");
        await next.SendAsync("STAT");
        await next.ExpectAsync(delete ? "+OK 1 " : "+OK 2 ");
    }

    private static async Task WaitForAsync(Func<bool> condition, Func<string> state)
    {
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(15);
        while (!condition() && DateTime.UtcNow < deadline) await Task.Delay(20);
        Assert.True(condition(), state());
    }
}
