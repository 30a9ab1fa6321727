using System.Collections.Concurrent;
using System.Net;
using System.Net.Sockets;
using Microsoft.Extensions.Logging;

namespace Restante.Networking;

/// <summary>
/// Accepts TCP connections on one address and hands each to a handler, without a thread per
/// connection. Stopping stops accepting, cancels the handlers and waits for them to finish.
/// </summary>
public sealed partial class ConnectionListener : IAsyncDisposable
{
    private readonly Socket _socket;
    private readonly ILogger _logger;
    private readonly ConcurrentDictionary<long, Task> _connections = new();
    private readonly CancellationTokenSource _stopping = new();
    private Task _acceptLoop = Task.CompletedTask;
    private long _nextConnection;

    private ConnectionListener(Socket socket, ILogger logger)
    {
        _socket = socket;
        _logger = logger;
        LocalEndPoint = (IPEndPoint)socket.LocalEndPoint!;
    }

    /// <summary>The bound address; with port 0 requested, the port the system chose.</summary>
    public IPEndPoint LocalEndPoint { get; }

    public int ActiveConnections => _connections.Count;

    public static ConnectionListener Bind(IPEndPoint endPoint, ILogger logger, int backlog = 512)
    {
        var socket = new Socket(endPoint.AddressFamily, SocketType.Stream, ProtocolType.Tcp);
        try
        {
            if (endPoint.AddressFamily == AddressFamily.InterNetworkV6) socket.DualMode = endPoint.Address.Equals(IPAddress.IPv6Any);
            // Lets a restarted server bind at once while old connections sit in TIME_WAIT.
            socket.SetSocketOption(SocketOptionLevel.Socket, SocketOptionName.ReuseAddress, true);
            socket.Bind(endPoint);
            socket.Listen(backlog);
        }
        catch
        {
            socket.Dispose();
            throw;
        }
        return new ConnectionListener(socket, logger);
    }

    public void Start(Func<Socket, CancellationToken, Task> handler)
        => _acceptLoop = AcceptLoopAsync(handler);

    private async Task AcceptLoopAsync(Func<Socket, CancellationToken, Task> handler)
    {
        Listening(_logger, LocalEndPoint);
        while (!_stopping.IsCancellationRequested)
        {
            Socket client;
            try
            {
                client = await _socket.AcceptAsync(_stopping.Token).ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
                break;
            }
            catch (ObjectDisposedException)
            {
                break;
            }
            catch (SocketException ex)
            {
                // Out of file descriptors and the like: back off briefly rather than spin.
                AcceptFailed(_logger, ex, LocalEndPoint);
                await Task.Delay(100).ConfigureAwait(false);
                continue;
            }

            client.NoDelay = true;
            var id = Interlocked.Increment(ref _nextConnection);
            // Registered before it starts, so StopAsync can never miss a connection that is just beginning.
            var done = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            _connections[id] = done.Task;
            _ = RunConnectionAsync(client, handler, id, done);
        }
    }

    private async Task RunConnectionAsync(Socket client, Func<Socket, CancellationToken, Task> handler, long id, TaskCompletionSource done)
    {
        // Leave the accept loop at once; the session runs on the thread pool.
        await Task.Yield();
        try
        {
            await handler(client, _stopping.Token).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is not OutOfMemoryException)
        {
            ConnectionFailed(_logger, ex, client.RemoteEndPoint);
        }
        finally
        {
            client.Dispose();
            _connections.TryRemove(id, out _);
            done.SetResult();
        }
    }

    public async Task StopAsync()
    {
        if (!_stopping.IsCancellationRequested) await _stopping.CancelAsync().ConfigureAwait(false);
        _socket.Dispose();
        await _acceptLoop.ConfigureAwait(false);
        await Task.WhenAll(_connections.Values).ConfigureAwait(false);
    }

    public async ValueTask DisposeAsync()
    {
        await StopAsync().ConfigureAwait(false);
        _stopping.Dispose();
    }

    [LoggerMessage(1, LogLevel.Information, "Listening on {EndPoint}", EventName = "Listening")]
    private static partial void Listening(ILogger logger, EndPoint endPoint);

    [LoggerMessage(2, LogLevel.Warning, "Accept failed on {EndPoint}", EventName = "AcceptFailed")]
    private static partial void AcceptFailed(ILogger logger, Exception exception, EndPoint endPoint);

    [LoggerMessage(3, LogLevel.Error, "Connection from {Peer} failed", EventName = "ConnectionFailed")]
    private static partial void ConnectionFailed(ILogger logger, Exception exception, EndPoint? peer);
}
