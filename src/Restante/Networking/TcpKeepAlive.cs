using System.Net.Sockets;

namespace Restante.Networking;

/// <summary>Turns TCP keepalive on for an accepted connection, as <see cref="TcpKeepAliveOptions"/> say.</summary>
internal static class TcpKeepAlive
{
    public static void Apply(Socket socket, TcpKeepAliveOptions options)
    {
        if (!options.Enabled || socket.ProtocolType != ProtocolType.Tcp) return;
        try
        {
            socket.SetSocketOption(SocketOptionLevel.Socket, SocketOptionName.KeepAlive, true);
            socket.SetSocketOption(SocketOptionLevel.Tcp, SocketOptionName.TcpKeepAliveTime, (int)options.Time.TotalSeconds);
            socket.SetSocketOption(SocketOptionLevel.Tcp, SocketOptionName.TcpKeepAliveInterval, (int)options.Interval.TotalSeconds);
            socket.SetSocketOption(SocketOptionLevel.Tcp, SocketOptionName.TcpKeepAliveRetryCount, options.RetryCount);
        }
        catch (SocketException)
        {
            // The peer reset the connection before we got here: the session will find out on its first read.
        }
    }
}
