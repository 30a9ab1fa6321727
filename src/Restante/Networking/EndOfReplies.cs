using System.Net.Sockets;

namespace Restante.Networking;

/// <summary>
/// Tells the client that the server has said everything, the moment its goodbye is flushed: a FIN
/// (shutdown of the sending side) on a plain socket, ahead of the summary line, the metrics and the
/// close that follow it. A client that waits for the server to close first (so that TIME_WAIT stays on
/// the server's side, as the load generator does) learns the session is over one bookkeeping pass
/// sooner; the socket is closed as before, after the protocol's end.
/// </summary>
internal static class EndOfReplies
{
    /// <summary>
    /// Shuts the sending side of <paramref name="transport"/> when it is the socket's own stream. Not for TLS: there
    /// close_notify must come before the FIN (RFC 8446 §6.1), and it is sent at the close. A wrapped stream (a test
    /// kit's recorder) is left as it is.
    /// </summary>
    public static void Send(Stream transport)
    {
        if (transport is not NetworkStream network) return;
        try
        {
            network.Socket.Shutdown(SocketShutdown.Send);
        }
        catch (Exception ex) when (ex is SocketException or ObjectDisposedException)
        {
            // The client is already gone: the close that follows has nothing to tell it either.
        }
    }
}
