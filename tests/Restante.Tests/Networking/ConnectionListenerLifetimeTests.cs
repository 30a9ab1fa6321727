using System.Net;
using System.Net.Sockets;
using Microsoft.Extensions.Logging;
using Restante.Networking;
using Restante.Tests.Auth;

namespace Restante.Tests.Networking;

/// <summary>
/// The listener closes a connection when its handler's task completes, however it completes, without an async frame of
/// its own waiting on that task (bench/NOTES-engine.md: every idle session held one): the socket is closed, the count
/// of connections goes down, a failure is logged, and StopAsync waits for the handlers still running. Real loopback
/// sockets; the handler's task is one the test completes.
/// </summary>
public sealed class ConnectionListenerLifetimeTests
{
    [Theory]
    [InlineData("completes")]
    [InlineData("faults")]
    [InlineData("cancelled")]
    public async Task A_connection_is_closed_and_uncounted_when_its_handler_task_ends(string ending)
    {
        var logger = new ListLogger<ConnectionListener>();
        var listener = ConnectionListener.Bind(new IPEndPoint(IPAddress.Loopback, 0), logger);
        try
        {
            var handling = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            var started = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            listener.Start((_, _) =>
            {
                started.TrySetResult();
                return handling.Task;
            });

            using var client = new TcpClient();
            await client.ConnectAsync(listener.LocalEndPoint);
            await started.Task.WaitAsync(TimeSpan.FromSeconds(30));
            Assert.Equal(1, listener.ActiveConnections);

            if (ending == "completes") handling.SetResult();
            else if (ending == "faults") handling.SetException(new InvalidOperationException("the session broke"));
            else handling.SetCanceled();

            // The server's end is closed: the client reads end of stream (a read that never ends fails the test after 30 s).
            var read = await client.GetStream().ReadAsync(new byte[1]).AsTask().WaitAsync(TimeSpan.FromSeconds(30));
            Assert.Equal(0, read);
            await WaitForAsync(() => listener.ActiveConnections == 0, () => $"{listener.ActiveConnections} connections");
            var failures = logger.Entries.Count(e => e.Level == LogLevel.Error && e.Message.StartsWith("Connection from", StringComparison.Ordinal));
            Assert.Equal(ending == "completes" ? 0 : 1, failures);
        }
        finally
        {
            await StopBoundedAsync(listener);
        }
    }

    [Fact]
    public async Task A_handler_that_throws_before_returning_a_task_still_gets_its_connection_closed_and_logged()
    {
        var logger = new ListLogger<ConnectionListener>();
        var listener = ConnectionListener.Bind(new IPEndPoint(IPAddress.Loopback, 0), logger);
        try
        {
            listener.Start((_, _) => throw new InvalidOperationException("no session for you"));

            using var client = new TcpClient();
            await client.ConnectAsync(listener.LocalEndPoint);

            var read = await client.GetStream().ReadAsync(new byte[1]).AsTask().WaitAsync(TimeSpan.FromSeconds(30));
            Assert.Equal(0, read);
            await WaitForAsync(() => listener.ActiveConnections == 0, () => $"{listener.ActiveConnections} connections");
            Assert.Contains(logger.Entries, e => e.Level == LogLevel.Error && e.Message.StartsWith("Connection from", StringComparison.Ordinal));
        }
        finally
        {
            await StopBoundedAsync(listener);
        }
    }

    [Fact]
    public async Task Stopping_cancels_the_handlers_and_waits_for_every_one_of_them()
    {
        var listener = ConnectionListener.Bind(new IPEndPoint(IPAddress.Loopback, 0), new ListLogger<ConnectionListener>());
        try
        {
            var stoppingSeen = 0;
            var release = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            var started = 0;
            var allStarted = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            listener.Start(async (_, stopping) =>
            {
                if (Interlocked.Increment(ref started) == 3) allStarted.TrySetResult();
                try
                {
                    await Task.Delay(Timeout.Infinite, stopping);
                }
                catch (OperationCanceledException)
                {
                    Interlocked.Increment(ref stoppingSeen);
                }
                // A session's end takes a while (its goodbye, releasing the mailbox): the stop must wait for it.
                await release.Task;
            });

            var clients = new List<TcpClient>();
            for (var i = 0; i < 3; i++)
            {
                var client = new TcpClient();
                await client.ConnectAsync(listener.LocalEndPoint);
                clients.Add(client);
            }
            await allStarted.Task.WaitAsync(TimeSpan.FromSeconds(30));
            Assert.Equal(3, listener.ActiveConnections);

            var stop = listener.StopAsync();
            await WaitForAsync(() => Volatile.Read(ref stoppingSeen) == 3, () => $"{stoppingSeen} handlers saw the stop");
            // Every handler has been told, none has finished: the stop is still waiting for them.
            await Task.Yield();
            Assert.False(stop.IsCompleted);
            Assert.Equal(3, listener.ActiveConnections);

            release.SetResult();
            await stop.WaitAsync(TimeSpan.FromSeconds(30));
            Assert.Equal(0, listener.ActiveConnections);
            foreach (var client in clients)
            {
                Assert.Equal(0, await client.GetStream().ReadAsync(new byte[1]).AsTask().WaitAsync(TimeSpan.FromSeconds(30)));
                client.Dispose();
            }
            // A second stop (DisposeAsync after StopAsync, as the server does) returns at once, and counts nothing twice.
            await listener.StopAsync().WaitAsync(TimeSpan.FromSeconds(30));
            Assert.Equal(0, listener.ActiveConnections);
        }
        finally
        {
            await StopBoundedAsync(listener);
        }
    }

    [Fact]
    public async Task Stopping_a_listener_whose_connections_have_all_ended_returns_without_waiting()
    {
        var listener = ConnectionListener.Bind(new IPEndPoint(IPAddress.Loopback, 0), new ListLogger<ConnectionListener>());
        try
        {
            var ended = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            listener.Start((_, _) =>
            {
                ended.TrySetResult();
                return Task.CompletedTask;
            });
            using (var client = new TcpClient())
            {
                await client.ConnectAsync(listener.LocalEndPoint);
                await ended.Task.WaitAsync(TimeSpan.FromSeconds(30));
            }
            await WaitForAsync(() => listener.ActiveConnections == 0, () => $"{listener.ActiveConnections} connections");

            await listener.StopAsync().WaitAsync(TimeSpan.FromSeconds(30));
            Assert.Equal(0, listener.ActiveConnections);
        }
        finally
        {
            await StopBoundedAsync(listener);
        }
    }

    /// <summary>Disposes the listener, failing (not hanging) when its stop never sees every connection end.</summary>
    private static async Task StopBoundedAsync(ConnectionListener listener)
        => await listener.DisposeAsync().AsTask().WaitAsync(TimeSpan.FromSeconds(30));

    private static async Task WaitForAsync(Func<bool> condition, Func<string> state)
    {
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(30);
        while (!condition() && DateTime.UtcNow < deadline) await Task.Delay(20);
        Assert.True(condition(), state());
    }
}
