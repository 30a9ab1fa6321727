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
    private readonly CancellationTokenSource _stopping = new();
    private Task _acceptLoop = Task.CompletedTask;
    // Two per connection running, plus one the listener holds until its accept loop has ended (StopAsync lets it go):
    // whoever takes the count to zero completes _drained. A count, not a set of tasks: an idle connection then holds
    // no registry node, no completion source and no suspended frame here, only its AcceptedConnection (see there).
    // The hold is the low bit, so one read tells the connections (ActiveConnections) whether or not it is still held.
    private int _running = ListenerHold;
    private int _holdReleased;
    private const int ListenerHold = 1, PerConnection = 2;
    private readonly TaskCompletionSource _drained = new(TaskCreationOptions.RunContinuationsAsynchronously);

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

    public int ActiveConnections => Volatile.Read(ref _running) / PerConnection;

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
            try
            {
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
            }
            catch (Exception ex) when (ex is SocketException or ObjectDisposedException)
            {
                // A peer gone between accept and here: its descriptor and slot go back, and the loop goes on accepting.
                client.Dispose();
                lease.Dispose();
                continue;
            }
            // Counted before it starts, so StopAsync can never miss a connection that is just beginning.
            Interlocked.Add(ref _running, PerConnection);
            // Leave the accept loop at once; the session runs on the thread pool. Queued as a work item of its own, without
            // this loop's execution context: the cheapest hop there is (an awaited Task.Yield captured and restored one).
            ThreadPool.UnsafeQueueUserWorkItem(new AcceptedConnection(this, client, handler, lease), preferLocal: false);
        }
    }

    /// <summary>One less connection (or the listener's own hold): the last one out completes the drain StopAsync waits for.</summary>
    private void Release(int count)
    {
        if (Interlocked.Add(ref _running, -count) == 0) _drained.TrySetResult();
    }

    private static readonly TimeSpan FirstBackoff = TimeSpan.FromMilliseconds(10);

    private static readonly TimeSpan LongestBackoff = TimeSpan.FromSeconds(1);

    private const long BurstQuietMilliseconds = 5_000;

    /// <summary>
    /// Runs the handler and, when its task completes, closes the connection: a continuation on the handler's task
    /// rather than an async method awaiting it, since every idle connection would hold that method's frame suspended
    /// for its whole life (160 bytes against this object and its delegate; bench/NOTES-engine.md).
    /// </summary>
    private sealed class AcceptedConnection(ConnectionListener listener, Socket client, Func<Socket, CancellationToken, Task> handler,
        ConnectionGate.Lease lease) : IThreadPoolWorkItem
    {
        private Task? _handling;

        public void Execute()
        {
            Task handling;
            try
            {
                // A handler that broke its contract and returned no task has nothing left to wait for.
                handling = handler(client, listener._stopping.Token) ?? Task.CompletedTask;
            }
            catch (Exception ex) when (ex is not OutOfMemoryException)
            {
                handling = Task.FromException(ex);
            }
            if (handling.IsCompleted)
            {
                Finish(handling);
                return;
            }
            _handling = handling;
            handling.ConfigureAwait(false).GetAwaiter().UnsafeOnCompleted(Finish);
        }

        private void Finish() => Finish(_handling!);

        private void Finish(Task handling)
        {
            try
            {
                // A handler that failed (or was cancelled) is logged as an awaiting caller would have caught it.
                if (handling.IsFaulted && handling.Exception!.InnerException is { } failure and not OutOfMemoryException)
                    ConnectionFailed(listener._logger, failure, client.RemoteEndPoint);
                else if (handling.IsCanceled)
                    ConnectionFailed(listener._logger, new TaskCanceledException(handling), client.RemoteEndPoint);
            }
            catch (Exception ex) when (ex is not OutOfMemoryException)
            {
                // This runs as a continuation or a work item of its own, where an exception would end the process: a
                // logging provider that throws, or a socket the handler already disposed, costs the log line only.
            }
            finally
            {
                client.Dispose();
                lease.Dispose();
                _handling = null;
                listener.Release(PerConnection);
            }
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
        try
        {
            await _acceptLoop.ConfigureAwait(false);
        }
        finally
        {
            // The accept loop has ended (even by a fault), so no connection is counted from now on: let the listener's
            // hold go, once, or a faulted loop would leave every later stop waiting for a count that cannot reach zero.
            if (Interlocked.Exchange(ref _holdReleased, 1) == 0) Release(ListenerHold);
        }
        await _drained.Task.ConfigureAwait(false);
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
