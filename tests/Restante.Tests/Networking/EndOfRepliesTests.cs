using Microsoft.Extensions.Logging.Abstractions;
using Restante.Hosting;
using Restante.Pop3;
using Restante.Storage;
using Restante.Storage.InMemory;
using Restante.Tests.Infrastructure;

namespace Restante.Tests.Networking;

/// <summary>
/// The end of a session as a client that waits for the server to close sees it (EndOfReplies): after the QUIT reply
/// the FIN comes at once, not after the session's summary and bookkeeping; while the session still holds the mailbox
/// (closed for bad commands in TRANSACTION) it comes only after the mailbox is let go, so a client that logs in again
/// on seeing the close never meets [IN-USE] from the session it just left. Real sockets, the in-memory store.
/// </summary>
public sealed class EndOfRepliesTests
{
    private static readonly TimeSpan Generous = TimeSpan.FromSeconds(30);

    [Fact]
    public async Task After_the_QUIT_reply_the_client_sees_the_close_while_the_session_is_still_ending()
    {
        using var data = new TempDirectory();
        var hooks = new HeldEnd();
        var store = new HeldReleaseStore();
        store.Release();
        store.Inner.Add("alice", "Subject: one\r\n\r\nbody\r\n"u8.ToArray());
        await using var server = await StartAsync(data, store, hooks);

        await using var client = await LoginAsync(server);
        await client.SendAsync("QUIT");
        await client.ExpectAsync("+OK");
        // The session's end is held in OnEnded (after the summary, before the socket is closed): the client reads the
        // end of the stream all the same. Before EndOfReplies it read nothing until the hook let go (a read timeout).
        await hooks.Entered.Task.WaitAsync(Generous);
        try
        {
            Assert.True(await client.IsClosedAsync());
            Assert.False(hooks.IsReleased);
        }
        finally
        {
            hooks.Release();
        }
        await WaitForAsync(() => server.Sessions.Count == 0);
    }

    [Fact]
    public async Task A_session_closed_while_it_holds_the_mailbox_ends_the_connection_only_after_letting_it_go()
    {
        using var data = new TempDirectory();
        var hooks = new HeldEnd();
        hooks.Release();
        var store = new HeldReleaseStore();
        store.Inner.Add("alice", "Subject: one\r\n\r\nbody\r\n"u8.ToArray());
        await using var server = await StartAsync(data, store, hooks, maxBadCommands: 2);

        await using var client = await LoginAsync(server);
        // The second bad command in a row closes the session in TRANSACTION: the mailbox is released in its end.
        await client.SendAsync("NOSUCH");
        await client.ExpectAsync("-ERR");
        await client.SendAsync("NOSUCH");
        await client.ExpectAsync("-ERR");
        await client.ExpectAsync("-ERR");
        var closed = client.IsClosedAsync();
        // The release is held for half a second after it began, ample time for an early close to reach the client: a
        // close seen meanwhile is the bug (the client would log in again and could meet [IN-USE]).
        await store.ReleaseEntered.Task.WaitAsync(Generous);
        Task first;
        try
        {
            first = await Task.WhenAny(closed, Task.Delay(TimeSpan.FromMilliseconds(500)));
        }
        finally
        {
            store.Release();
        }
        Assert.NotSame(closed, first);
        Assert.True(await closed);
        Assert.True(store.Released);
    }

    private static async Task<Pop3Server> StartAsync(TempDirectory data, IMailBackend store, IPop3SessionHooks hooks, int maxBadCommands = 10)
    {
        File.WriteAllText(Path.Combine(data.Path, "passwd"), "alice:{PLAIN}secret::::::\n");
        var pop3 = new Pop3Options { Hostname = "test.example", MaxBadCommands = maxBadCommands };
        var options = new RestanteOptions { DataDirectory = data.Path, Pop3 = ["127.0.0.1:0"], Fsync = false };
        var server = new Pop3Server(options, pop3, NullLoggerFactory.Instance, store: store, sessionHooks: hooks);
        await server.StartAsync();
        return server;
    }

    private static async Task<Transcript> LoginAsync(Pop3Server server)
    {
        var client = await Transcript.ConnectAsync(server.Pop3EndPoints[0]);
        await client.ExpectAsync("+OK");
        await client.SendAsync("USER alice");
        await client.ExpectAsync("+OK");
        await client.SendAsync("PASS secret");
        await client.ExpectAsync("+OK");
        return client;
    }

    private static async Task WaitForAsync(Func<bool> condition)
    {
        var deadline = DateTime.UtcNow + Generous;
        while (!condition() && DateTime.UtcNow < deadline) await Task.Delay(20);
        Assert.True(condition());
    }

    /// <summary>Holds every session's end in OnEnded until released; the socket stays open meanwhile.</summary>
    private sealed class HeldEnd : IPop3SessionHooks
    {
        private readonly ManualResetEventSlim _gate = new();

        public TaskCompletionSource Entered { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public bool IsReleased => _gate.IsSet;

        public void Release() => _gate.Set();

        public void OnEnded(Pop3Session session, string reason)
        {
            Entered.TrySetResult();
            _gate.Wait(Generous);
        }
    }

    /// <summary>The in-memory store, whose maildrops' release (the lock going) waits for <see cref="Release"/> once held.</summary>
    private sealed class HeldReleaseStore : IMailBackend
    {
        private readonly TaskCompletionSource _gate = new(TaskCreationOptions.RunContinuationsAsynchronously);
        private volatile bool _released;

        public InMemoryMailStore Inner { get; } = new();

        public TaskCompletionSource ReleaseEntered { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public bool Released => _released;

        public void Release() => _gate.TrySetResult();

        public async ValueTask<IMaildrop> OpenAsync(string user, CancellationToken cancellationToken)
            => new HeldRelease(await Inner.OpenAsync(user, cancellationToken), this);

        public ValueTask<IReadOnlyList<StoredMessage>> ListAsync(string user, CancellationToken cancellationToken) => Inner.ListAsync(user, cancellationToken);

        public ValueTask<string> DeliverAsync(string user, Stream message, CancellationToken cancellationToken) => Inner.DeliverAsync(user, message, cancellationToken);

        public ValueTask<long> GetUsageAsync(string user, CancellationToken cancellationToken) => Inner.GetUsageAsync(user, cancellationToken);

        private sealed class HeldRelease(IMaildrop inner, HeldReleaseStore store) : IMaildrop
        {
            public IReadOnlyList<StoredMessage> Messages => inner.Messages;

            public ValueTask<Stream> OpenMessageAsync(int index, CancellationToken cancellationToken) => inner.OpenMessageAsync(index, cancellationToken);

            public ValueTask<ExpungeResult> ExpungeAsync(IReadOnlyList<int> indexes, CancellationToken cancellationToken)
                => inner.ExpungeAsync(indexes, cancellationToken);

            public async ValueTask DisposeAsync()
            {
                store.ReleaseEntered.TrySetResult();
                await store._gate.Task.WaitAsync(Generous);
                await inner.DisposeAsync();
                store._released = true;
            }
        }
    }
}
