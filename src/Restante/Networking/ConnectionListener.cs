using System.Collections.Concurrent;
using System.Net;
using System.Net.Sockets;
using Microsoft.Extensions.Logging;

namespace Restante.Networking;

/// <summary>
/// Accepts TCP (or Unix-domain socket) connections on one address and hands each to a handler,
/// without a thread per connection. Stopping stops accepting, cancels the handlers and waits for
/// them to finish.
/// </summary>
public sealed partial class ConnectionListener : IAsyncDisposable
{
    private readonly Socket _socket;
    private readonly ILogger _logger;
    private readonly ConcurrentDictionary<long, Task> _connections = new();
    private readonly CancellationTokenSource _stopping = new();
    private Task _acceptLoop = Task.CompletedTask;
    private long _nextConnection;

    private readonly string? _socketPath;
    private int _socketRemoved;

    private ConnectionListener(Socket socket, ILogger logger, string? socketPath = null)
    {
        _socket = socket;
        _logger = logger;
        _socketPath = socketPath;
        EndPoint = socket.LocalEndPoint!;
    }

    /// <summary>The bound address: an <see cref="IPEndPoint"/> (with port 0 requested, the port the
    /// system chose) or a <see cref="UnixDomainSocketEndPoint"/>.</summary>
    public EndPoint EndPoint { get; }

    /// <summary>The bound TCP address. Throws for a Unix-domain socket listener.</summary>
    public IPEndPoint LocalEndPoint => EndPoint as IPEndPoint
        ?? throw new InvalidOperationException($"{EndPoint} is not a TCP endpoint.");

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

    /// <summary>
    /// Listens on a Unix-domain socket at <paramref name="path"/>. A socket file left by a server
    /// that died is removed first; one that a running server still answers on is not (bind fails).
    /// The socket is made mode 0660: unlike loopback TCP, which every local user can reach, the
    /// socket lets an operator say who may hand over mail (the MTA's user, via the group).
    /// </summary>
    public static ConnectionListener BindUnix(string path, ILogger logger, int backlog = 512)
    {
        if (Path.GetDirectoryName(path) is { Length: > 0 } directory) Directory.CreateDirectory(directory);
        RemoveStaleSocket(path);
        var socket = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        try
        {
            socket.Bind(new UnixDomainSocketEndPoint(path));
            if (!OperatingSystem.IsWindows())
                File.SetUnixFileMode(path, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.GroupRead | UnixFileMode.GroupWrite);
            socket.Listen(backlog);
        }
        catch
        {
            socket.Dispose();
            throw;
        }
        return new ConnectionListener(socket, logger, path);
    }

    private static void RemoveStaleSocket(string path)
    {
        if (!File.Exists(path)) return;
        // A socket file has length 0; anything else at that path is not ours to delete.
        if (new FileInfo(path).Length != 0)
            throw new IOException($"{path} exists and is not a socket; not replacing it.");
        using var probe = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        try
        {
            probe.Connect(new UnixDomainSocketEndPoint(path));
        }
        catch (SocketException)
        {
            // Nobody answers: left by a server that did not shut down cleanly.
            File.Delete(path);
            return;
        }
        throw new IOException($"{path} is in use by a running server.");
    }

    public void Start(Func<Socket, CancellationToken, Task> handler)
        => _acceptLoop = AcceptLoopAsync(handler);

    private async Task AcceptLoopAsync(Func<Socket, CancellationToken, Task> handler)
    {
        Listening(_logger, EndPoint);
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
                AcceptFailed(_logger, ex, EndPoint);
                await Task.Delay(100).ConfigureAwait(false);
                continue;
            }

            // Replies are written whole, once per batch: no reason to wait for more (TCP only).
            if (client.ProtocolType == ProtocolType.Tcp) client.NoDelay = true;
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
        // Once only: after a stop, another server may already have bound the same path.
        if (_socketPath is not null && Interlocked.Exchange(ref _socketRemoved, 1) == 0) TryRemoveSocketFile(_socketPath);
    }

    private static void TryRemoveSocketFile(string path)
    {
        try
        {
            File.Delete(path);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            // Removed at the next start instead (RemoveStaleSocket).
        }
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
