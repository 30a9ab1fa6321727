using System.Net.Sockets;
using System.Text;
using System.Text.Json;

namespace Restante.Admin;

/// <summary>The other end of the control socket, for the `restante` commands: one request, one reply.</summary>
internal static class AdminClient
{
    /// <summary>
    /// Sends <paramref name="request"/> and returns the reply, parsed and as the line the server sent. Throws
    /// <see cref="SocketException"/> when nobody listens (ENOENT, ECONNREFUSED) or the socket is not ours to use (EACCES).
    /// </summary>
    public static async Task<(AdminReply Reply, string Line)> SendAsync(string socketPath, AdminRequest request, CancellationToken cancellationToken)
    {
        using var socket = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        await socket.ConnectAsync(new UnixDomainSocketEndPoint(socketPath), cancellationToken).ConfigureAwait(false);
        var stream = new NetworkStream(socket, ownsSocket: false);
        await using (stream.ConfigureAwait(false))
        {
            byte[] line = [.. JsonSerializer.SerializeToUtf8Bytes(request, AdminJson.Default.AdminRequest), (byte)'\n'];
            try
            {
                await stream.WriteAsync(line, cancellationToken).ConfigureAwait(false);
            }
            catch (IOException)
            {
                // A server that refuses us answers before reading and closes: its reply is still there to read.
            }
            using var reader = new StreamReader(stream, Encoding.UTF8, detectEncodingFromByteOrderMarks: false, leaveOpen: true);
            var answer = await reader.ReadLineAsync(cancellationToken).ConfigureAwait(false)
                ?? throw new IOException($"The server closed {socketPath} without answering.");
            AdminReply? reply;
            try
            {
                reply = JsonSerializer.Deserialize(answer, AdminJson.Default.AdminReply);
            }
            catch (JsonException ex)
            {
                throw new IOException($"The server's reply is not understood: {ex.Message}", ex);
            }
            return (reply ?? throw new IOException("The server's reply is empty."), answer);
        }
    }
}
