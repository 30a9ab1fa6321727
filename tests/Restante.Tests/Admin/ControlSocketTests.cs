using System.Net.Sockets;
using System.Text;
using System.Text.Json;
using MailKit.Net.Pop3;
using Restante.Tests.Infrastructure;
using Restante.Tests.Tls;

namespace Restante.Tests.Admin;

/// <summary>
/// The control socket through the real programs: a `restante serve` process, the `restante sessions | kick | uidl |
/// throttle` commands as separate processes, MailKit and raw POP3 as the clients being administered.
/// </summary>
[System.Runtime.Versioning.SupportedOSPlatform("linux")]
public class ControlSocketTests
{
    private static string SocketOf(string data) => Path.Combine(data, "restante.ctl");

    /// <summary>`restante ARGS` as its own process.</summary>
    private static Task<(int ExitCode, string Output)> CliAsync(params string[] arguments)
        => Processes.RunAsync("dotnet", null, [ServerProcess.CliPath, .. arguments]);

    private static async Task<Pop3Client> MailKitLoginAsync(ServerProcess server, string user, string password)
    {
        var client = new Pop3Client();
        await client.ConnectAsync("127.0.0.1", server.Port, MailKit.Security.SecureSocketOptions.None);
        await client.AuthenticateAsync(user, password);
        return client;
    }

    [Fact]
    public async Task Sessions_lists_a_live_MailKit_session_with_its_user_peer_and_state()
    {
        using var data = new TempDirectory();
        ServerProcess.Seed(data.Path, "alice", "secret", 2);
        await using var server = await ServerProcess.StartAsync(data.Path);
        using var client = await MailKitLoginAsync(server, "alice", "secret");
        await client.GetMessageAsync(0);

        var (exit, output) = await CliAsync("sessions", "--data", data.Path);
        Assert.True(exit == 0, output);
        var row = Assert.Single(output.Split('\n'), l => l.Contains("alice", StringComparison.Ordinal));
        Assert.Contains("TRANSACTION", row);
        Assert.Contains("127.0.0.1:", row);

        (exit, output) = await CliAsync("sessions", "--data", data.Path, "--json");
        Assert.True(exit == 0, output);
        using var json = JsonDocument.Parse(output);
        var session = Assert.Single(json.RootElement.GetProperty("sessions").EnumerateArray());
        Assert.Equal("alice", session.GetProperty("user").GetString());
        Assert.Equal("TRANSACTION", session.GetProperty("state").GetString());
        Assert.True(session.GetProperty("bytesSent").GetInt64() > 0);
        Assert.False(session.GetProperty("tls").GetBoolean());
    }

    [Fact]
    public async Task Kick_ends_the_session_without_deleting_and_the_user_can_log_in_at_once()
    {
        using var data = new TempDirectory();
        ServerProcess.Seed(data.Path, "alice", "secret", 2);
        await using var server = await ServerProcess.StartAsync(data.Path);
        await using var kicked = await server.LoginAsync("alice", "secret");
        await kicked.SendAsync("DELE 1");
        await kicked.ExpectAsync("+OK");

        var (exit, output) = await CliAsync("kick", "alice", "--data", data.Path);
        Assert.True(exit == 0, output);
        Assert.Contains("Kicked session", output);
        // RFC 1939 §6: without QUIT there is no UPDATE; the client is told, then the connection closes.
        Assert.Equal("-ERR Disconnected by the administrator.", await kicked.ReadLineAsync());
        Assert.True(await kicked.IsClosedAsync());

        // The CLI answered only once the lock was free: a new login succeeds at once and sees both messages.
        using var again = await MailKitLoginAsync(server, "alice", "secret");
        Assert.Equal(2, again.Count);
        await again.DisconnectAsync(quit: true);
        Assert.True(await server.WaitForOutputAsync(l => l.Contains("kicked by the administrator", StringComparison.Ordinal)), string.Join("\n", server.Output));

        // By session id, and an unknown target is an error.
        await using var second = await server.LoginAsync("alice", "secret");
        (exit, output) = await CliAsync("sessions", "--data", data.Path, "--json");
        var id = JsonDocument.Parse(output).RootElement.GetProperty("sessions")[0].GetProperty("id").GetInt64();
        (exit, output) = await CliAsync("kick", id.ToString(System.Globalization.CultureInfo.InvariantCulture), "--data", data.Path);
        Assert.True(exit == 0, output);
        Assert.Equal("-ERR Disconnected by the administrator.", await second.ReadLineAsync());
        (exit, output) = await CliAsync("kick", "bob", "--data", data.Path);
        Assert.Equal(1, exit);
        Assert.Contains("No session of bob", output);
    }

    [Theory]
    [InlineData("maildir")]
    [InlineData("memory")]
    public async Task Uidl_matches_what_POP3_UIDL_returns_while_the_session_holds_the_lock(string store)
    {
        using var data = new TempDirectory();
        ServerProcess.Seed(data.Path, "alice", "secret", 3);
        await using var server = await ServerProcess.StartAsync(data.Path, null, "--store", store);
        if (store == "memory")
        {
            // The seeded Maildir means nothing to the memory store: deliver over LMTP.
            await DeliverOverLmtpAsync(server, "alice", 3);
        }
        using var client = await MailKitLoginAsync(server, "alice", "secret");
        var uids = await client.GetMessageUidsAsync();
        var sizes = await client.GetMessageSizesAsync();
        Assert.Equal(3, uids.Count);

        var (exit, output) = await CliAsync("uidl", "alice", "--data", data.Path);
        Assert.True(exit == 0, output);
        var rows = output.Split('\n', StringSplitOptions.RemoveEmptyEntries).Skip(1)
            .Select(l => l.Split(' ', StringSplitOptions.RemoveEmptyEntries)).ToList();
        Assert.Equal(Enumerable.Range(1, 3).Select(n => n.ToString(System.Globalization.CultureInfo.InvariantCulture)), rows.Select(r => r[0]));
        Assert.Equal(uids, rows.Select(r => r[1]));
        Assert.Equal(sizes, rows.Select(r => int.Parse(r[2], System.Globalization.CultureInfo.InvariantCulture)));

        // The live session was not disturbed: it still reads, deletes and commits.
        await client.GetMessageAsync(2);
        await client.DeleteMessageAsync(0);
        await client.DisconnectAsync(quit: true);
        (exit, output) = await CliAsync("uidl", "alice", "--data", data.Path, "--json");
        Assert.True(exit == 0, output);
        var left = JsonDocument.Parse(output).RootElement.GetProperty("messages").EnumerateArray().Select(m => m.GetProperty("uid").GetString()).ToList();
        Assert.Equal(uids.Skip(1), left);
    }

    private static async Task DeliverOverLmtpAsync(ServerProcess server, string user, int count)
    {
        await using var lmtp = await server.ConnectLmtpAsync();
        await lmtp.ExpectAsync("220 ");
        await lmtp.SendAsync("LHLO test.example");
        await Lmtp.Lmtp.ReadReplyAsync(lmtp);
        for (var i = 0; i < count; i++)
        {
            await Lmtp.Lmtp.SendMessageAsync(lmtp, "sender@example.com", $"Subject: {i}\r\n\r\nbody {i}\r\n", $"{user}@example.com");
            await lmtp.ExpectAsync("250 ");
        }
    }

    [Fact]
    public async Task Throttle_list_shows_a_failing_address_and_clear_lets_it_log_in_at_once()
    {
        using var data = new TempDirectory();
        ServerProcess.Seed(data.Path, "alice", "secret", 1);
        await using var server = await ServerProcess.StartAsync(data.Path, null, new Dictionary<string, string>
        {
            // Loopback is exempt by default; here it stands for any client address.
            ["RESTANTE_TrustLoopback"] = "false",
            ["RESTANTE_LoginThrottle__MaxFailuresPerIp"] = "2",
            ["RESTANTE_AuthFailureDelay"] = "00:00:00",
        });
        await using (var c = await server.ConnectAsync())
        {
            await c.ExpectAsync("+OK");
            for (var i = 0; i < 2; i++)
            {
                await c.SendAsync("USER alice");
                await c.ExpectAsync("+OK");
                await c.SendAsync("PASS wrong");
                await c.ExpectAsync("-ERR [AUTH]");
            }
            await c.SendAsync("USER alice");
            await c.ExpectAsync("+OK");
            await c.SendAsync("PASS secret");
            await c.ExpectAsync("-ERR [SYS/TEMP] Too many failed logins");
        }

        var (exit, output) = await CliAsync("throttle", "list", "--data", data.Path);
        Assert.True(exit == 0, output);
        var row = Assert.Single(output.Split('\n'), l => l.StartsWith("127.0.0.1 ", StringComparison.Ordinal));
        Assert.Matches(@"^127\.0\.0\.1\s+2\s+\d{4}-\d\d-\d\d \d\d:\d\d:\d\dZ", row);

        (exit, output) = await CliAsync("throttle", "clear", "127.0.0.1", "--data", data.Path);
        Assert.True(exit == 0, output);
        Assert.Contains("Cleared 127.0.0.1", output);
        await using var again = await server.LoginAsync("alice", "secret");
        (exit, output) = await CliAsync("throttle", "list", "--data", data.Path);
        Assert.Contains("No address has failed logins", output);
    }

    [SkippableFact]
    public async Task The_socket_is_mode_0600_and_other_users_are_refused()
    {
        Skip.IfNot(OperatingSystem.IsLinux(), "Unix-socket credentials (SO_PEERCRED) are Linux only");
        using var data = new TempDirectory();
        await using var server = await ServerProcess.StartAsync(data.Path);
        var socket = SocketOf(data.Path);
        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(socket));
        var (_, stat) = await Processes.RunAsync("stat", null, "-c", "%a %F", socket);
        Assert.Equal("600 socket", stat.Trim());

        Skip.IfNot(Environment.UserName == "root", "connecting as another user needs root (runuser); the tests run as " + Environment.UserName);
        // The file's mode keeps nobody out (EACCES) ...
        var (exit, output) = await AsNobodyAsync("sessions", "--socket", socket);
        Assert.True(exit == 77, output);
        Assert.Contains("Permission denied", output);
        // ... and with the mode opened by mistake, the server's own check (SO_PEERCRED) still does.
        File.SetUnixFileMode(socket, (UnixFileMode)0b110_110_110);
        (exit, output) = await AsNobodyAsync("sessions", "--socket", socket);
        Assert.True(exit == 77, output);
        Assert.Contains("only the server's user and root", output);
        await WaitForAsync(() => server.Output.Any(l => l.Contains("Refused a control socket connection from uid 65534", StringComparison.Ordinal)));
        // Root, the server's own user here, is let in.
        (exit, output) = await CliAsync("sessions", "--socket", socket);
        Assert.True(exit == 0, output);
    }

    private static Task<(int ExitCode, string Output)> AsNobodyAsync(params string[] arguments)
        => Processes.RunAsync("runuser", null, ["-u", "nobody", "--", "env", "DOTNET_CLI_HOME=/tmp", "DOTNET_NOLOGO=1", "dotnet", ServerProcess.CliPath, .. arguments]);

    [Fact]
    public async Task Malformed_long_idle_and_surplus_connections_are_answered_and_the_socket_serves_on()
    {
        using var data = new TempDirectory();
        await using var server = await ServerProcess.StartAsync(data.Path, null, new Dictionary<string, string>
        {
            ["RESTANTE_ADMIN__MAXCONNECTIONS"] = "2",
            ["RESTANTE_ADMIN__IDLETIMEOUT"] = "00:00:03",
        });
        var path = SocketOf(data.Path);

        using (var a = await ConnectAsync(path))
        {
            // A malformed request gets an error; the same connection then answers a good one.
            await SendAsync(a, "this is not json\n");
            Assert.Contains("\"ok\":false", await ReadLineAsync(a));
            await SendAsync(a, "{\"command\":\"sessions\",\"extra\":1}\n{\"command\":\"nonsense\"}\n{\"command\":\"kick\"}\n");
            Assert.Contains("Malformed request", await ReadLineAsync(a));
            Assert.Contains("Unknown command", await ReadLineAsync(a));
            Assert.Contains("kick needs either", await ReadLineAsync(a));
            await SendAsync(a, "{\"command\":\"sessions\"}\r\n");
            Assert.Equal("{\"ok\":true,\"sessions\":[]}", await ReadLineAsync(a));

            // Two are held (a and b); a third is told and closed.
            using var b = await ConnectAsync(path);
            using var c = await ConnectAsync(path);
            Assert.Contains("Too many control socket connections", await ReadLineAsync(c));
            Assert.Null(await ReadLineAsync(c));
        }

        // A line that does not fit in 4096 octets is answered and the connection closed.
        var (d, tooLong) = await ConnectAdmittedAsync(path, new string('x', 5000));
        using (d)
        {
            Assert.Contains("Request line too long", tooLong);
            Assert.Null(await ReadLineAsync(d));
        }

        // A client that trickles without finishing a request is closed after IdleTimeout all the same.
        var (e, first) = await ConnectAdmittedAsync(path, "{\"command\":\"sessions\"}\n");
        using (e)
        {
            Assert.Contains("\"ok\":true", first);
            var started = DateTime.UtcNow;
            var reply = ReadLineAsync(e);
            while (!reply.IsCompleted && DateTime.UtcNow - started < TimeSpan.FromSeconds(30))
            {
                await SendAsync(e, "{");
                await Task.WhenAny(reply, Task.Delay(500));
            }
            Assert.Contains("No complete request in time", await reply);
        }

        var (exit, output) = await CliAsync("sessions", "--data", data.Path);
        Assert.True(exit == 0, output);
        Assert.Contains("No sessions.", output);
    }

    [Fact]
    public async Task A_live_servers_socket_is_not_stolen_and_a_dead_ones_is_replaced()
    {
        using var data = new TempDirectory();
        var first = await ServerProcess.StartAsync(data.Path);
        try
        {
            var refused = await Assert.ThrowsAsync<InvalidOperationException>(() => ServerProcess.StartAsync(data.Path));
            Assert.Contains($"another Restante server (pid {first.Pid}) is running with the control socket", refused.Message);
            var (exit, output) = await CliAsync("sessions", "--data", data.Path);
            Assert.True(exit == 0, output);

            first.Signal("KILL");
            await first.WaitForExitAsync(TimeSpan.FromSeconds(20));
        }
        finally
        {
            await first.DisposeAsync();
        }
        Assert.True(File.Exists(SocketOf(data.Path)), "SIGKILL leaves the socket file behind");

        await using var second = await ServerProcess.StartAsync(data.Path);
        Assert.True(await second.WaitForOutputAsync(l => l.Contains("Replaced the control socket", StringComparison.Ordinal)), string.Join("\n", second.Output));
        var (code, text) = await CliAsync("sessions", "--data", data.Path);
        Assert.True(code == 0, text);
        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(SocketOf(data.Path)));

        // A clean stop removes the file (the next start finds nothing to replace).
        second.Signal("TERM");
        Assert.Equal(0, await second.WaitForExitAsync(TimeSpan.FromSeconds(30)));
        Assert.False(File.Exists(SocketOf(data.Path)));
    }

    [Fact]
    public async Task Help_names_the_command_restante_whatever_the_executable_is_called()
    {
        // Run as `dotnet Restante.Cli.dll`, as the .NET tool shim does.
        var (exit, output) = await CliAsync("--help");
        Assert.True(exit == 0, output);
        Assert.Contains("  restante [command] [options]", output);
        Assert.DoesNotContain("Restante.Cli", output);
        (exit, output) = await CliAsync("kick", "--help");
        Assert.Contains("restante kick <USER|SESSION-ID> [options]", output);
    }

    private static async Task<Socket> ConnectAsync(string path)
    {
        var socket = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        await socket.ConnectAsync(new UnixDomainSocketEndPoint(path));
        return socket;
    }

    /// <summary>
    /// Connects, sends <paramref name="text"/> and reads the first reply, again while the server still counts connections
    /// the test has just closed (it notices a close a moment later, more so on a loaded machine).
    /// </summary>
    private static async Task<(Socket Socket, string? Reply)> ConnectAdmittedAsync(string path, string text)
    {
        for (var attempt = 1; ; attempt++)
        {
            var socket = await ConnectAsync(path);
            string? reply;
            try
            {
                await SendAsync(socket, text);
                reply = await ReadLineAsync(socket);
            }
            catch (SocketException) when (attempt < 50)
            {
                // Refused with our bytes unread: the kernel reset the connection.
                reply = "Too many control socket connections";
            }
            if (reply?.Contains("Too many control socket connections", StringComparison.Ordinal) != true || attempt == 50) return (socket, reply);
            socket.Dispose();
            await Task.Delay(200);
        }
    }

    private static async Task SendAsync(Socket socket, string text) => await socket.SendAsync(Encoding.UTF8.GetBytes(text));

    /// <summary>One line without its LF, or null once the server has closed; bounded by a generous timeout.</summary>
    private static async Task<string?> ReadLineAsync(Socket socket)
    {
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        var line = new List<byte>();
        var one = new byte[1];
        while (true)
        {
            var read = await socket.ReceiveAsync(one, timeout.Token);
            if (read == 0) return line.Count == 0 ? null : Encoding.UTF8.GetString([.. line]);
            if (one[0] == (byte)'\n') return Encoding.UTF8.GetString([.. line]);
            line.Add(one[0]);
        }
    }

    private static async Task WaitForAsync(Func<bool> condition)
    {
        for (var i = 0; i < 100 && !condition(); i++) await Task.Delay(100);
        Assert.True(condition());
    }
}
