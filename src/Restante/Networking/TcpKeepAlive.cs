using System.Net.Sockets;

namespace Restante.Networking;

/// <summary>Turns TCP keepalive on for POP3 connections, as <see cref="TcpKeepAliveOptions"/> say.</summary>
internal static class TcpKeepAlive
{
    /// <summary>Sets the options on a listening socket, for the connections it accepts (where <see cref="ListenerSocketOptions.Inherited"/>).</summary>
    public static void ApplyToListener(Socket listening, TcpKeepAliveOptions options)
    {
        if (ListenerSocketOptions.Inherited) Set(listening, options);
    }

    /// <summary>Sets the options on an accepted connection where the listener's are not inherited; a no-op on Linux.</summary>
    public static void Apply(Socket socket, TcpKeepAliveOptions options)
    {
        if (ListenerSocketOptions.Inherited) return;
        try
        {
            Set(socket, options);
        }
        catch (SocketException)
        {
            // The peer reset the connection before we got here: the session will find out on its first read.
        }
    }

    private static void Set(Socket socket, TcpKeepAliveOptions options)
    {
        if (!options.Enabled || socket.ProtocolType != ProtocolType.Tcp) return;
        socket.SetSocketOption(SocketOptionLevel.Socket, SocketOptionName.KeepAlive, true);
        socket.SetSocketOption(SocketOptionLevel.Tcp, SocketOptionName.TcpKeepAliveTime, (int)options.Time.TotalSeconds);
        socket.SetSocketOption(SocketOptionLevel.Tcp, SocketOptionName.TcpKeepAliveInterval, (int)options.Interval.TotalSeconds);
        socket.SetSocketOption(SocketOptionLevel.Tcp, SocketOptionName.TcpKeepAliveRetryCount, options.RetryCount);
    }
}
