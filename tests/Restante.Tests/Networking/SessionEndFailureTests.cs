using Restante.Tests.Infrastructure;

namespace Restante.Tests.Networking;

/// <summary>
/// The end of a session when the protocol's end fails (LineConnection.RunAsync's inner finally): a store that throws
/// while it releases the mailbox — with an error that is neither IOException nor MailStoreException, as a database
/// driver's own is — must still leave the connection closed and the session unregistered, and the server serving.
/// (QUIT is not such a case: it releases the mailbox itself, before the protocol's end, which then has nothing left
/// to release.)
/// </summary>
public sealed class SessionEndFailureTests
{
    [Theory]
    [InlineData(true)]    // the client half-closes in TRANSACTION (end of input): the server must close its end too
    [InlineData(false)]   // the client resets the connection in TRANSACTION
    public async Task A_store_that_throws_while_releasing_the_mailbox_still_gets_the_connection_closed_and_the_session_unregistered(bool halfClose)
    {
        var store = new ReleaseFailingStore();
        store.Inner.Add("alice", "Subject: one\r\n\r\nbody\r\n"u8.ToArray());
        await using var server = await TestServer.StartAsync(store: store);
        server.AddUser("alice", "secret");

        var client = await server.LoginAsync("alice", "secret");
        await client.SendAsync("STAT");
        await client.ExpectAsync("+OK 1 ");
        Assert.Equal(1, server.Server.Sessions.Count);
        if (halfClose)
        {
            client.EndSending();
            // The server closes its end although the release threw (IsClosedAsync fails after 15 s of silence otherwise).
            Assert.True(await client.IsClosedAsync());
        }
        else
        {
            client.Abort();
        }
        await client.DisposeAsync();

        await WaitForAsync(() => server.Server.Sessions.Count == 0 && server.Server.ActiveSessions == 0,
            () => $"sessions {server.Server.Sessions.Count}, connections {server.Server.ActiveSessions}");
        Assert.Equal(1, store.Releases);

        // Still serving, and the mailbox is free again (the release got as far as the lock).
        await using var next = await server.LoginAsync("alice", "secret");
        await next.SendAsync("STAT");
        await next.ExpectAsync("+OK 1 ");
    }

    private static async Task WaitForAsync(Func<bool> condition, Func<string> state)
    {
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(15);
        while (!condition() && DateTime.UtcNow < deadline) await Task.Delay(20);
        Assert.True(condition(), state());
    }
}
