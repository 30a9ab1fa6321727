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

    private ConnectionListener(Socket socket, ILogger logger, string? socketPath = null, EndPoint? endPoint = null)
    {
        _socket = socket;
        _logger = logger;
        _socketPath = socketPath;
        EndPoint = endPoint ?? socket.LocalEndPoint!;
    }

    /// <summary>
    /// Accepts on a socket someone else bound and listens on (the control socket, which is bound elsewhere and
    /// renamed into place, so <paramref name="endPoint"/> says where it is now). Its file is the caller's to remove.
    /// </summary>
    internal static ConnectionListener Adopt(Socket listening, EndPoint endPoint, ILogger logger) => new(listening, logger, socketPath: null, endPoint);

    /// <summary>The bound address: an <see cref="IPEndPoint"/> (with port 0 requested, the port the
    /// system chose) or a <see cref="UnixDomainSocketEndPoint"/>.</summary>
    public EndPoint EndPoint { get; }

    /// <summary>The bound TCP address. Throws for a Unix-domain socket listener.</summary>
    public IPEndPoint LocalEndPoint => EndPoint as IPEndPoint
        ?? throw new InvalidOperationException($"{EndPoint} is not a TCP endpoint.");

    public int ActiveConnections => _connections.Count;

    /// <summary>The listening socket, for options its connections inherit (<see cref="ListenerSocketOptions"/>).</summary>
    internal Socket ListeningSocket => _socket;

    public static ConnectionListener Bind(IPEndPoint endPoint, ILogger logger, int backlog = 512)
    {
        var socket = new Socket(endPoint.AddressFamily, SocketType.Stream, ProtocolType.Tcp);
        try
        {
            if (endPoint.AddressFamily == AddressFamily.InterNetworkV6) socket.DualMode = endPoint.Address.Equals(IPAddress.IPv6Any);
            // Lets a restarted server bind at once while old connections sit in TIME_WAIT.
            socket.SetSocketOption(SocketOptionLevel.Socket, SocketOptionName.ReuseAddress, true);
            // Replies are written whole, once per batch: no reason to wait for more. Set here, every connection has it.
            if (ListenerSocketOptions.Inherited) socket.NoDelay = true;
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

    /// <summary>
    /// Starts accepting. With a <paramref name="gate"/>, a connection over its limits is sent
    /// <paramref name="refusal"/> (nothing when empty) and closed at once, in the accept loop; an
    /// admitted connection holds its slot until the handler returns.
    /// </summary>
    /// <param name="refused">Told of each refusal (the metrics' count); null for none.</param>
    public void Start(Func<Socket, CancellationToken, Task> handler, ConnectionGate? gate = null, byte[]? refusal = null, Action? refused = null)
        => _acceptLoop = AcceptLoopAsync(handler, gate, refusal ?? [], refused);

    private async Task AcceptLoopAsync(Func<Socket, CancellationToken, Task> handler, ConnectionGate? gate, byte[] refusal, Action? refused)
    {
        Listening(_logger, EndPoint);
        var backoff = TimeSpan.Zero;
        var failures = 0;
        var lastFailure = 0L;
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
                // EMFILE/ENFILE (out of descriptors), ENOBUFS and the like: the pending connection stays
                // queued and the socket stays readable, so retrying at once would spin a core and
                // flood the log. Back off from 10 ms to 1 s; say so once per burst, not per failure.
                if (failures++ == 0) AcceptFailing(_logger, ex, EndPoint, ex.SocketErrorCode);
                lastFailure = Environment.TickCount64;
                backoff = backoff == TimeSpan.Zero ? FirstBackoff : TimeSpan.FromTicks(Math.Min(backoff.Ticks * 2, LongestBackoff.Ticks));
                try
                {
                    await Task.Delay(backoff, _stopping.Token).ConfigureAwait(false);
                }
                catch (OperationCanceledException)
                {
                    break;
                }
                continue;
            }
            // Near the limit accepts succeed and fail by turns (a descriptor freed, a descriptor taken):
            // the burst, and its back-off, end only after a quiet spell.
            if (failures > 0 && Environment.TickCount64 - lastFailure >= BurstQuietMilliseconds)
            {
                AcceptRecovered(_logger, EndPoint, failures);
                failures = 0;
                backoff = TimeSpan.Zero;
            }

            var lease = default(ConnectionGate.Lease);
            if (gate is not null && !gate.TryEnter((client.RemoteEndPoint as IPEndPoint)?.Address, out lease))
            {
                // Refused here, in the loop, so a flood can never hold more descriptors than the
                // limits allow plus one. Established sessions are untouched.
                Refuse(client, refusal);
                refused?.Invoke();
                continue;
            }

            // Replies are written whole, once per batch: no reason to wait for more (TCP only; inherited where Bind set it).
            if (!ListenerSocketOptions.Inherited && client.ProtocolType == ProtocolType.Tcp) client.NoDelay = true;
            var id = Interlocked.Increment(ref _nextConnection);
            // Registered before it starts, so StopAsync can never miss a connection that is just beginning.
            var done = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            _connections[id] = done.Task;
            // Leave the accept loop at once; the session runs on the thread pool. Queued as a work item of its own, without
            // this loop's execution context: the cheapest hop there is (an awaited Task.Yield captured and restored one).
            ThreadPool.UnsafeQueueUserWorkItem(new AcceptedConnection(this, client, handler, lease, id, done), preferLocal: false);
        }
    }

    private sealed class AcceptedConnection(ConnectionListener listener, Socket client, Func<Socket, CancellationToken, Task> handler,
        ConnectionGate.Lease lease, long id, TaskCompletionSource done) : IThreadPoolWorkItem
    {
        public void Execute() => _ = listener.RunConnectionAsync(client, handler, lease, id, done);
    }

    private static readonly TimeSpan FirstBackoff = TimeSpan.FromMilliseconds(10);

    private static readonly TimeSpan LongestBackoff = TimeSpan.FromSeconds(1);

    private const long BurstQuietMilliseconds = 5_000;

    private async Task RunConnectionAsync(Socket client, Func<Socket, CancellationToken, Task> handler, ConnectionGate.Lease lease, long id, TaskCompletionSource done)
    {
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
            lease.Dispose();
            _connections.TryRemove(id, out _);
            done.SetResult();
        }
    }

    /// <summary>
    /// Sends the refusal without waiting and closes. A line of a few dozen octets always fits in a
    /// new connection's empty send buffer, so the non-blocking send either goes out whole or the
    /// peer is already gone.
    /// </summary>
    private static void Refuse(Socket socket, byte[] line)
    {
        try
        {
            socket.Blocking = false;
            if (line.Length > 0) socket.Send(line, SocketFlags.None, out _);
            socket.Shutdown(SocketShutdown.Both);
        }
        catch (Exception ex) when (ex is SocketException or ObjectDisposedException)
        {
            // The refused client is already gone; nothing is owed to it.
        }
        finally
        {
            socket.Dispose();
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

    [LoggerMessage(2, LogLevel.Warning, "Accept failing on {EndPoint} ({Error}); retrying with back-off up to 1 s", EventName = "AcceptFailed")]
    private static partial void AcceptFailing(ILogger logger, Exception exception, EndPoint endPoint, SocketError error);

    [LoggerMessage(4, LogLevel.Information, "Accepting again on {EndPoint} after {Failures} failed attempts", EventName = "AcceptRecovered")]
    private static partial void AcceptRecovered(ILogger logger, EndPoint endPoint, int failures);

    [LoggerMessage(3, LogLevel.Error, "Connection from {Peer} failed", EventName = "ConnectionFailed")]
    private static partial void ConnectionFailed(ILogger logger, Exception exception, EndPoint? peer);
}
