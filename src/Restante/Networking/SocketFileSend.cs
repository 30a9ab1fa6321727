using System.Net.Sockets;
using System.Runtime.InteropServices;
using Microsoft.Win32.SafeHandles;

namespace Restante.Networking;

/// <summary>
/// sendfile(2) from an open file to a socket, without waiting. .NET reaches sendfile only for a file it opens by path
/// (<see cref="Socket.SendFileAsync(string, CancellationToken)"/>) or a FileStream opened for asynchronous I/O
/// (<see cref="SendPacketsElement"/>), never for a descriptor opened otherwise; a store opens its files itself
/// (O_NOFOLLOW, fstat), and reopening one by path costs an open, two fstat, a flock and a close per message.
/// </summary>
internal static class SocketFileSend
{
    private const int EAgain = 11;   // == EWOULDBLOCK on Linux
    private const int EIntr = 4;

    // Linux sends at most 0x7ffff000 octets per call.
    private const long MaxPerCall = 0x7ffff000;

    public enum Status
    {
        /// <summary>Octets went out (possibly fewer than asked; the offset moved on).</summary>
        Sent,
        /// <summary>The socket's buffer is full: wait until it can be written, then call again.</summary>
        WouldBlock,
        /// <summary>The file ended before the offset reached what was asked (it was cut short).</summary>
        EndOfFile,
        /// <summary>The connection failed (the client is gone).</summary>
        Failed,
    }

    /// <summary>
    /// One sendfile call of up to <paramref name="count"/> octets at <paramref name="offset"/>, which it moves on past what
    /// was sent. The socket must be non-blocking, as every .NET socket that has done an asynchronous operation is.
    /// </summary>
    public static Status TrySend(Socket socket, SafeFileHandle file, ref long offset, long count)
    {
        while (true)
        {
            var sent = SendFile(socket.SafeHandle, file, ref offset, (nuint)Math.Min(count, MaxPerCall));
            if (sent > 0) return Status.Sent;
            if (sent == 0) return Status.EndOfFile;
            var errno = Marshal.GetLastPInvokeError();
            if (errno == EIntr) continue;
            return errno == EAgain ? Status.WouldBlock : Status.Failed;
        }
    }

    [DllImport("libc", EntryPoint = "sendfile", SetLastError = true)]
    private static extern nint SendFile(SafeSocketHandle socket, SafeFileHandle file, ref long offset, nuint count);
}
