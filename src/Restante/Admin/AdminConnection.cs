using System.Buffers;
using System.IO.Pipelines;
using System.Net.Sockets;
using System.Text.Json;
using Microsoft.Extensions.Logging;
using Restante.Protocol;

namespace Restante.Admin;

/// <summary>
/// One client of the control socket: its credentials checked first, then requests answered one
/// line at a time, in order. What a client can make the server hold is bounded: one request line
/// of <see cref="AdminOptions.MaxRequestLine"/> octets, <see cref="AdminOptions.IdleTimeout"/> to
/// send each request (a trickle does not extend it), <see cref="AdminOptions.WriteTimeout"/> to
/// read each reply. A malformed request is answered with an error and the connection goes on; a
/// line too long is answered and the connection closed, as POP3 does (STYLE §11).
/// </summary>
internal sealed class AdminConnection(Socket socket, AdminCommands commands, AdminOptions options, uint serverUid, TimeProvider time, ILogger logger)
{
    public async Task RunAsync(CancellationToken stopping)
    {
        var stream = new NetworkStream(socket, ownsSocket: false);
        await using (stream.ConfigureAwait(false))
        {
            try
            {
                // Root may do anything to the process anyway; anyone else but the server's own user is refused,
                // whatever the file's mode says (a socket copied or chmod-ed by mistake stays closed to them).
                if (!PeerCredentials.TryRead(socket, out var peer) || (peer.Uid != 0 && peer.Uid != serverUid))
                {
                    AdminLog.PeerRefused(logger, peer.Uid, peer.Pid, serverUid);
                    await WriteAsync(stream, AdminReply.Failure("Permission denied: only the server's user and root may use this socket."), stopping).ConfigureAwait(false);
                    await LingerAsync(stopping).ConfigureAwait(false);
                    return;
                }
                await ServeAsync(stream, peer, stopping).ConfigureAwait(false);
            }
            catch (OperationCanceledException) when (stopping.IsCancellationRequested)
            {
                // The server is stopping.
            }
            catch (Exception ex) when (ex is IOException or SocketException or OperationCanceledException)
            {
                // The client left, or stopped reading its reply.
                AdminLog.ConnectionClosed(logger, ex is OperationCanceledException ? "reply not read in time" : "connection lost");
            }
        }
    }

    private async Task ServeAsync(NetworkStream stream, PeerCredentials peer, CancellationToken stopping)
    {
        var input = PipeReader.Create(stream, new StreamPipeReaderOptions(bufferSize: 4096, leaveOpen: true));
        try
        {
            var waitingSince = time.GetTimestamp();
            while (true)
            {
                ReadResult read;
                using (var deadline = CancellationTokenSource.CreateLinkedTokenSource(stopping))
                {
                    var left = options.IdleTimeout - time.GetElapsedTime(waitingSince);
                    deadline.CancelAfter(left > TimeSpan.Zero ? left : TimeSpan.FromTicks(1));
                    try
                    {
                        read = await input.ReadAsync(deadline.Token).ConfigureAwait(false);
                    }
                    catch (OperationCanceledException) when (!stopping.IsCancellationRequested)
                    {
                        AdminLog.ConnectionClosed(logger, "no request in time");
                        await WriteAsync(stream, AdminReply.Failure("No complete request in time; closing."), stopping).ConfigureAwait(false);
                        await LingerAsync(stopping).ConfigureAwait(false);
                        return;
                    }
                }
                var buffer = read.Buffer;
                while (true)
                {
                    var status = LineReader.TryTakeLine(ref buffer, AdminOptions.MaxRequestLine, out var taken);
                    if (status == LineStatus.NeedMoreData) break;
                    if (status == LineStatus.TooLong)
                    {
                        AdminLog.ConnectionClosed(logger, "request line too long");
                        await WriteAsync(stream, AdminReply.Failure($"Request line too long (at most {AdminOptions.MaxRequestLine} octets); closing."), stopping).ConfigureAwait(false);
                        await LingerAsync(stopping).ConfigureAwait(false);
                        return;
                    }
                    if (taken.Length > 0)
                    {
                        var reply = await AnswerAsync(taken.ToArray(), peer, stopping).ConfigureAwait(false);
                        await WriteAsync(stream, reply, stopping).ConfigureAwait(false);
                    }
                    waitingSince = time.GetTimestamp();
                }
                input.AdvanceTo(buffer.Start, buffer.End);
                if (read.IsCompleted) return;
            }
        }
        finally
        {
            await input.CompleteAsync().ConfigureAwait(false);
        }
    }

    /// <summary>
    /// Ends a connection the server closes with a last reply: its side is shut (the client reads the reply, then end
    /// of stream), and what the client still sends is read and dropped for a moment. Closing with unread input would
    /// make the kernel reset the connection, and the client could lose the reply (unix(7) reports ECONNRESET).
    /// Bounded in octets and time, so lingering costs nothing a client can stretch.
    /// </summary>
    private async Task LingerAsync(CancellationToken stopping)
    {
        try
        {
            socket.Shutdown(SocketShutdown.Send);
            using var deadline = CancellationTokenSource.CreateLinkedTokenSource(stopping);
            deadline.CancelAfter(TimeSpan.FromSeconds(2));
            var sink = new byte[4096];
            for (var drained = 0; drained < 64 * 1024;)
            {
                var read = await socket.ReceiveAsync(sink, SocketFlags.None, deadline.Token).ConfigureAwait(false);
                if (read == 0) return;
                drained += read;
            }
        }
        catch (Exception ex) when (ex is SocketException or OperationCanceledException or ObjectDisposedException)
        {
            // The client is gone or still talking: closing now is all that is left.
        }
    }

    private async Task<AdminReply> AnswerAsync(byte[] line, PeerCredentials peer, CancellationToken stopping)
    {
        AdminRequest? request;
        try
        {
            request = JsonSerializer.Deserialize(line, AdminJson.Default.AdminRequest);
        }
        catch (JsonException ex)
        {
            return AdminReply.Failure($"Malformed request: {ex.Message}");
        }
        if (request is null) return AdminReply.Failure("Malformed request: expected a JSON object.");
        var command = Protocol.LogText.Of(request.Command ?? "-");
        AdminLog.Request(logger, command, peer.Uid, peer.Pid);
        try
        {
            return await commands.ExecuteAsync(request, peer, stopping).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is not OperationCanceledException && ex is not OutOfMemoryException)
        {
            // A bug or a store failure nobody mapped: logged in full, answered briefly, the socket serves on.
            AdminLog.RequestFailed(logger, ex, command);
            return AdminReply.Failure($"Internal error running {command}; see the server log.");
        }
    }

    private static async Task WriteAsync(NetworkStream stream, AdminReply reply, CancellationToken stopping)
    {
        byte[] line = [.. JsonSerializer.SerializeToUtf8Bytes(reply, AdminJson.Default.AdminReply), (byte)'\n'];
        using var deadline = CancellationTokenSource.CreateLinkedTokenSource(stopping);
        deadline.CancelAfter(AdminOptions.WriteTimeout);
        await stream.WriteAsync(line, deadline.Token).ConfigureAwait(false);
    }
}
