using System.Net.Sockets;
using Microsoft.Extensions.Logging.Abstractions;
using Restante.Hosting;
using Restante.Pop3;
using Restante.Tests.Infrastructure;

namespace Restante.Tests.Pop3;

/// <summary>Stranded-mailbox takeover and TCP keepalive, with real sockets and a real Maildir.</summary>
public class TakeoverTests
{
    private static async Task<TestServer> ServerAsync(TimeSpan takeoverIdle)
    {
        var server = await TestServer.StartAsync(o => o.TakeoverIdle = takeoverIdle);
        server.AddUser("alice", "secret");
        server.Deliver("alice", "Subject: one\r\n\r\nfirst\r\n", 1_700_000_000);
        server.Deliver("alice", "Subject: two\r\n\r\nsecond\r\n", 1_700_000_100);
        return server;
    }

    [Fact]
    public async Task A_silent_session_is_taken_over_and_its_deletions_are_not_applied()
    {
        await using var server = await ServerAsync(TimeSpan.FromSeconds(1));
        await using var stranded = await server.LoginAsync("alice", "secret");
        await stranded.SendAsync("DELE 1");
        await stranded.ExpectAsync("+OK");
        // Then silence, as from a client whose network went away.
        await Task.Delay(TimeSpan.FromSeconds(1.5));

        await using var second = await server.LoginAsync("alice", "secret");
        await second.SendAsync("STAT");
        Assert.StartsWith("+OK 2 ", await second.ReadLineAsync());

        Assert.Equal("-ERR [IN-USE] Another login took over this mailbox; nothing was deleted.", await stranded.ReadLineAsync());
        Assert.True(await stranded.IsClosedAsync());
        await second.SendAsync("QUIT");
        await second.ExpectAsync("+OK");
        Assert.Equal(2, server.MessageFiles("alice").Count);
        Assert.Contains(server.Logs.Lines, l => l.Contains("was silent for", StringComparison.Ordinal) && l.Contains("Warning", StringComparison.Ordinal));
    }

    [Fact]
    public async Task An_active_session_is_not_taken_over()
    {
        await using var server = await ServerAsync(TimeSpan.FromSeconds(2));
        await using var active = await server.LoginAsync("alice", "secret");
        await active.SendAsync("DELE 1");
        await active.ExpectAsync("+OK");
        // Busy for longer than the idle time, but never silent for as long.
        for (var i = 0; i < 8; i++)
        {
            await Task.Delay(TimeSpan.FromMilliseconds(300));
            await active.SendAsync("NOOP");
            await active.ExpectAsync("+OK");
        }

        await using var second = await server.ConnectAsync();
        await second.ExpectAsync("+OK");
        await second.SendAsync("USER alice");
        await second.ExpectAsync("+OK");
        await second.SendAsync("PASS secret");
        Assert.StartsWith("-ERR [IN-USE]", await second.ReadLineAsync());

        // The first session is untouched: its QUIT applies its deletion.
        await active.SendAsync("QUIT");
        Assert.Equal("+OK Logging out, 1 messages deleted.", await active.ReadLineAsync());
        Assert.Single(server.MessageFiles("alice"));
    }

    [Fact]
    public async Task Takeover_is_off_at_zero()
    {
        await using var server = await ServerAsync(TimeSpan.Zero);
        await using var stranded = await server.LoginAsync("alice", "secret");
        await Task.Delay(TimeSpan.FromSeconds(1));
        await using var second = await server.ConnectAsync();
        await second.ExpectAsync("+OK");
        await second.SendAsync("USER alice");
        await second.ExpectAsync("+OK");
        await second.SendAsync("PASS secret");
        Assert.StartsWith("-ERR [IN-USE]", await second.ReadLineAsync());
    }

    [Fact]
    public async Task Pop3_connections_have_tcp_keepalive_as_configured()
    {
        using var data = new TempDirectory();
        var hooks = new SocketCapture();
        var pop3 = new Pop3Options { Hostname = "test.example" };
        pop3.TcpKeepAlive.Time = TimeSpan.FromSeconds(42);
        pop3.TcpKeepAlive.Interval = TimeSpan.FromSeconds(7);
        pop3.TcpKeepAlive.RetryCount = 3;
        var options = new RestanteOptions { DataDirectory = data.Path, Pop3 = ["127.0.0.1:0"], Fsync = false };
        await using var server = new Pop3Server(options, pop3, NullLoggerFactory.Instance, sessionHooks: hooks);
        await server.StartAsync();
        await using var c = await Transcript.ConnectAsync(server.Pop3EndPoints[0]);
        await c.ExpectAsync("+OK");

        var socket = Assert.IsType<NetworkStream>(hooks.Transport).Socket;
        Assert.Equal(1, (int)socket.GetSocketOption(SocketOptionLevel.Socket, SocketOptionName.KeepAlive)!);
        Assert.Equal(42, (int)socket.GetSocketOption(SocketOptionLevel.Tcp, SocketOptionName.TcpKeepAliveTime)!);
        Assert.Equal(7, (int)socket.GetSocketOption(SocketOptionLevel.Tcp, SocketOptionName.TcpKeepAliveInterval)!);
        Assert.Equal(3, (int)socket.GetSocketOption(SocketOptionLevel.Tcp, SocketOptionName.TcpKeepAliveRetryCount)!);
        Assert.True(socket.NoDelay);
    }

    private sealed class SocketCapture : IPop3SessionHooks
    {
        public Stream? Transport { get; private set; }

        public Stream OnTransport(Pop3Session session, Stream transport) => Transport = transport;
    }
}
