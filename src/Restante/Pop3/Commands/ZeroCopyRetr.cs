using System.Buffers;
using System.Net.Sockets;
using Restante.Networking;
using Restante.Protocol;
using Restante.Storage;
using Restante.Storage.Maildir;

namespace Restante.Pop3.Commands;

/// <summary>
/// RETR of a file already in POP3 wire form (<see cref="WireFormFile"/>) over a plain connection: the +OK line (with any
/// earlier pipelined replies, one send), then the file with sendfile(2) on the descriptor the store opened, then the final
/// ".", which goes with the session's next flush. The message never passes through user space. TLS connections, TOP and
/// everything else take <see cref="MessageWriter"/>'s copying path.
/// </summary>
/// <remarks>
/// When the socket's buffer is full, the next block of the file is read and sent through the socket's own asynchronous
/// send, which waits for room (and honours the write timeout) as any reply does; then sendfile goes on. A slow reader
/// costs one copied block per wait, a fast one none. The reply is ended only once every octet of the file went out: a
/// file cut short on disk after it was opened (its length was checked against LIST then) leaves the reply unended and
/// the session is closed, so a client never takes a shorter message for the whole one (RFC 1939 §3).
/// </remarks>
internal static class ZeroCopyRetr
{
    // The block sent by copying while waiting for room in the socket's buffer.
    private const int WaitBlock = 16 * 1024;

    public enum Result
    {
        Sent,
        /// <summary>The client is gone, the send failed part-way or the file came up short: the session must end.</summary>
        Closed,
    }

    public static bool Applies(Pop3Session session, Stream message, long? bodyLineLimit, out Socket socket, out WireFormFile file)
    {
        socket = null!;
        file = null!;
        if (!OperatingSystem.IsLinux() || bodyLineLimit is not null || message is not WireFormFile wire || session.PlainSocket is not { } plain) return false;
        socket = plain;
        file = wire;
        return true;
    }

    /// <summary>Writes and flushes "+OK", sends the file, writes "." for the session's flush.</summary>
    public static async ValueTask<Result> SendAsync(Pop3Session session, Socket socket, WireFormFile file, string okText)
    {
        Pop3Reply.Ok(session.Output, okText);
        // Whatever is buffered (earlier pipelined replies, this +OK) must reach the socket before the file does.
        if (!await session.FlushAsync().ConfigureAwait(false)) return Result.Closed;

        var handle = file.File.Handle;
        var length = file.Length;
        long offset = 0;
        byte[]? block = null;
        var timeout = session.ArmWriteTimeout();   // also fired by a shutdown, a kick or a takeover
        var failed = false;
        var cutShort = false;
        var readFailed = false;
        try
        {
            while (offset < length)
            {
                var status = SocketFileSend.TrySend(socket, handle, ref offset, length - offset);
                if (status == SocketFileSend.Status.Sent) continue;
                if (status != SocketFileSend.Status.WouldBlock)
                {
                    cutShort = status == SocketFileSend.Status.EndOfFile;
                    failed = !cutShort;
                    break;
                }
                block ??= ArrayPool<byte>.Shared.Rent(WaitBlock);
                int read;
                try
                {
                    read = PositionalRead.Read(handle, block.AsSpan(0, (int)Math.Min(WaitBlock, length - offset)), offset);
                }
                catch (IOException ex)
                {
                    // The file, not the client: said as a store failure, as the copying path says it.
                    Pop3Log.StoreFailure(session.Logger, ex, session.User!);
                    readFailed = true;
                    break;
                }
                if (read == 0)
                {
                    cutShort = true;
                    break;
                }
                // Each wait for room gets a fresh write timeout (still capped by the session's send bound), as each flush
                // of the copying path does: a slow but steady reader of a big message must not be cut off after one.
                timeout = session.ArmWriteTimeout();
                await socket.SendAsync(block.AsMemory(0, read), SocketFlags.None, timeout).ConfigureAwait(false);
                offset += read;
            }
        }
        catch (Exception ex) when (ex is SocketException or OperationCanceledException or IOException)
        {
            failed = true;
        }
        finally
        {
            if (block is not null) ArrayPool<byte>.Shared.Return(block);
        }
        session.DisarmWriteTimeout();   // throws OperationCanceledException when the timer fired: the session's timeout path
        if (readFailed)
        {
            MessageSender.ReadFailed(session);
            return Result.Closed;
        }
        if (failed)
        {
            session.SetEndReason("connection lost");
            return Result.Closed;
        }
        if (cutShort)
        {
            Pop3Log.SendfileShort(session.Logger, offset, length);
            session.SetEndReason("message changed on disk");
            return Result.Closed;
        }
        Pop3Log.SentWithSendfile(session.Logger, length);
        Pop3Reply.End(session.Output);
        return Result.Sent;
    }
}
