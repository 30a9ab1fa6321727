using System.Net;
using System.Net.Sockets;
using Microsoft.Extensions.Logging.Abstractions;
using Restante.Networking;

namespace Restante.Tests.Networking;

/// <summary>
/// TCP_NODELAY and keepalive are set once on the listening socket and every accepted connection has them: what the
/// kernel hands back from accept(2) is checked with getsockopt, on real loopback sockets.
/// </summary>
public class ListenerSocketOptionsTests
{
    [Fact]
    public async Task Every_accepted_connection_has_no_delay_and_the_keepalive_set_on_its_listener()
    {
        var keepAlive = new TcpKeepAliveOptions { Time = TimeSpan.FromSeconds(43), Interval = TimeSpan.FromSeconds(8), RetryCount = 4 };
        await using var listener = ConnectionListener.Bind(new IPEndPoint(IPAddress.Loopback, 0), NullLogger.Instance);
        TcpKeepAlive.ApplyToListener(listener.ListeningSocket, keepAlive);
        var seen = new List<(bool NoDelay, int KeepAlive, int Idle, int Interval, int Count)>();
        var allSeen = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        listener.Start((socket, _) =>
        {
            // What the POP3 server does with each connection (a no-op where the listener's options are inherited).
            TcpKeepAlive.Apply(socket, keepAlive);
            lock (seen)
            {
                seen.Add((socket.NoDelay,
                    (int)socket.GetSocketOption(SocketOptionLevel.Socket, SocketOptionName.KeepAlive)!,
                    (int)socket.GetSocketOption(SocketOptionLevel.Tcp, SocketOptionName.TcpKeepAliveTime)!,
                    (int)socket.GetSocketOption(SocketOptionLevel.Tcp, SocketOptionName.TcpKeepAliveInterval)!,
                    (int)socket.GetSocketOption(SocketOptionLevel.Tcp, SocketOptionName.TcpKeepAliveRetryCount)!));
                if (seen.Count == 3) allSeen.TrySetResult();
            }
            return Task.CompletedTask;
        });

        for (var i = 0; i < 3; i++)
        {
            using var client = new TcpClient();
            await client.ConnectAsync(listener.LocalEndPoint);
        }
        await allSeen.Task.WaitAsync(TimeSpan.FromSeconds(30));

        Assert.All(seen, s => Assert.Equal((true, 1, 43, 8, 4), s));
    }
}
