using System.Buffers;
using System.Globalization;
using System.Net.Sockets;
using Restante.Protocol;
using Restante.Storage;

namespace Restante.Pop3.Commands;

/// <summary>
/// RETR of a file already in POP3 wire form (<see cref="WireFormFile"/>) over a plain connection: the +OK line, then the
/// file with sendfile(2), then the final ".". The message never passes through user space. TLS connections, TOP and
/// everything else take <see cref="MessageWriter"/>'s copying path.
/// </summary>
/// <remarks>
/// .NET reaches sendfile through <see cref="Socket.SendFileAsync(string, ReadOnlyMemory{byte}, ReadOnlyMemory{byte}, TransmitFileOptions, CancellationToken)"/>,
/// which takes a path, not the descriptor the store opened (O_NOFOLLOW, checked with fstat). So it is given
/// /proc/self/fd/N: opening that reaches the very inode already open, never a name in the Maildir a user could swap.
/// </remarks>
internal static class ZeroCopyRetr
{
    public enum Result
    {
        Sent,
        /// <summary>"+OK" went out but not a byte of the file: send it by copying instead.</summary>
        NotSent,
        /// <summary>The client is gone or the send failed part-way: the session must end.</summary>
        Closed,
    }

    private static readonly bool s_procAvailable = OperatingSystem.IsLinux() && Directory.Exists("/proc/self/fd");

    public static bool Applies(Pop3Session session, Stream message, long? bodyLineLimit, out Socket socket, out WireFormFile file)
    {
        socket = null!;
        file = null!;
        if (!s_procAvailable || bodyLineLimit is not null || message is not WireFormFile wire || session.PlainSocket is not { } plain) return false;
        socket = plain;
        file = wire;
        return true;
    }

    /// <summary>Writes "+OK", sends the file, writes ".".</summary>
    public static async ValueTask<Result> SendAsync(Pop3Session session, Socket socket, WireFormFile file, string okText)
    {
        Pop3Reply.Ok(session.Output, okText);
        // Whatever is buffered (earlier pipelined replies, this +OK) must reach the socket before the file does.
        if (!await session.FlushAsync().ConfigureAwait(false)) return Result.Closed;

        var path = string.Create(CultureInfo.InvariantCulture, $"/proc/self/fd/{file.File.SafeFileHandle.DangerousGetHandle()}");
        var timeout = session.ArmWriteTimeout();   // also fired by a shutdown, a kick or a takeover
        bool sent;
        try
        {
            await socket.SendFileAsync(path, default, default, TransmitFileOptions.UseDefaultWorkerThread, timeout).ConfigureAwait(false);
            sent = true;
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            // Opening /proc/self/fd/N failed (a restricted /proc): nothing of the file went out.
            session.DisarmWriteTimeout();
            return Result.NotSent;
        }
        catch (Exception ex) when (ex is SocketException or OperationCanceledException)
        {
            sent = false;
        }
        session.DisarmWriteTimeout();   // throws OperationCanceledException when the timer fired: the session's timeout path
        if (!sent) return Result.Closed;
        Pop3Log.SentWithSendfile(session.Logger, file.Length);
        Pop3Reply.End(session.Output);
        return Result.Sent;
    }
}
