using System.Net.Sockets;
using Restante.Pop3;

namespace Restante.Hosting;

/// <summary>
/// Starts a POP3 session on an accepted socket without an async frame of its own: the session's task is the
/// connection's. Every idle session holds each frame around its own suspended for its whole life (208 bytes for the
/// one that awaited the session here; bench/NOTES-engine.md), and this one had nothing to do after the session.
/// </summary>
internal static class SessionFrames
{
    public static Task RunDirect(Pop3ServerContext context, Socket socket, bool implicitTls, CancellationToken stopping)
    {
        var stream = new NetworkStream(socket, ownsSocket: false);
        // Disposing a stream that does not own its socket only marks it disposed (the listener closes the socket when
        // the session's task completes), so nothing is lost by never disposing it, but its finalizer would still run
        // for every session: suppressed here, as Dispose would.
        GC.SuppressFinalize(stream);
        return new Pop3Session(context, stream, socket.RemoteEndPoint, implicitTls).RunAsync(stopping);
    }
}
