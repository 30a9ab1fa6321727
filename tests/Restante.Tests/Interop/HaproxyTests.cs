using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using MailKit.Net.Pop3;
using MailKit.Security;
using Restante.Tests.Infrastructure;
using Restante.Tests.Packaging;

namespace Restante.Tests.Interop;

/// <summary>
/// HAProxy itself (TCP mode, packaging/haproxy.cfg with loopback addresses) in front of a real `restante
/// serve`: MailKit clients connect from 127.0.0.2 and 127.0.0.4 through the balancer, which connects from
/// 127.0.0.3, the only address in ProxyTrustedNetworks. The server must key throttling, logs and trace
/// headers on the clients, never on the balancer; and refuse a header from a balancer it does not trust.
/// </summary>
public sealed class HaproxyTests
{
    private static readonly IPAddress Guesser = IPAddress.Parse("127.0.0.2");
    private static readonly IPAddress Balancer = IPAddress.Parse("127.0.0.3");
    private static readonly IPAddress Owner = IPAddress.Parse("127.0.0.4");
    private static readonly IPAddress Stranger = IPAddress.Parse("127.0.0.9");

    private static string? HaproxyPath =>
        SystemdUnitTests.FindOnPath("haproxy") ?? (File.Exists("/usr/sbin/haproxy") ? "/usr/sbin/haproxy" : null);

    [SkippableTheory]
    [InlineData("send-proxy-v2")]
    [InlineData("send-proxy")]
    public async Task Clients_behind_haproxy_are_seen_by_their_own_address(string sendProxy)
    {
        Skip.IfNot(OperatingSystem.IsLinux(), "needs the whole 127.0.0.0/8 on loopback (Linux)");
        Skip.If(HaproxyPath is null, "haproxy is not installed (Debian package haproxy; test.sh installs it)");
        using var data = new TempDirectory();
        File.WriteAllText(Path.Combine(data.Path, "passwd"), "alice:{PLAIN}secret\n");
        int pop3 = ServerProcess.FreePort(), pop3s = ServerProcess.FreePort(), lmtp = ServerProcess.FreePort();
        var configPath = Path.Combine(data.Path, "restante.json");
        File.WriteAllText(configPath, $$"""
            {
              "Pop3s": ["127.0.0.1:{{pop3s}}"],
              "ProxyProtocolListeners": ["127.0.0.1:{{pop3}}", "127.0.0.1:{{pop3s}}", "127.0.0.1:{{lmtp}}"],
              "ProxyTrustedNetworks": ["{{Balancer}}"],
              "TrustLoopback": false,
              "AllowPlaintext": true,
              "AuthFailureDelay": "00:00:00.050",
              "LoginThrottle": { "MaxFailuresPerIp": 2 }
            }
            """);
        await using var server = await ServerProcess.StartAsync(data.Path, pop3, "--config", configPath, "--lmtp", $"127.0.0.1:{lmtp}");

        int frontPop3 = ServerProcess.FreePort(), frontPop3s = ServerProcess.FreePort(), frontLmtp = ServerProcess.FreePort(), frontUntrusted = ServerProcess.FreePort();
        var shipped = await File.ReadAllTextAsync(Path.Combine(RepositoryRoot.Path, "packaging", "haproxy.cfg"));
        var haproxyConfig = LoopbackVersion(shipped, sendProxy, frontPop3, frontPop3s, frontLmtp, pop3, pop3s, lmtp)
            // Not in the example: a balancer on an address the server was not told about.
            + $"\nfrontend untrusted\n    bind 127.0.0.1:{frontUntrusted}\n    default_backend untrusted_nodes\n"
            + $"\nbackend untrusted_nodes\n    source {Stranger}\n    server node1 127.0.0.1:{pop3} {sendProxy}\n";
        await using var haproxy = await Haproxy.StartAsync(HaproxyPath!, data.Path, haproxyConfig, frontPop3);

        // LMTP through the balancer: the trace header names the client, not 127.0.0.3.
        await using (var lmtpClient = await Transcript.ConnectAsync(new IPEndPoint(IPAddress.Loopback, frontLmtp), Owner))
        {
            await lmtpClient.ExpectAsync("220 ");
            await lmtpClient.SendAsync("LHLO client.example");
            await Restante.Tests.Lmtp.Lmtp.ReadReplyAsync(lmtpClient);
            await Restante.Tests.Lmtp.Lmtp.SendMessageAsync(lmtpClient, "sender@example.org", Restante.Tests.Lmtp.Lmtp.Message, "alice");
            await lmtpClient.ExpectAsync("250 ");
        }

        // Wrong passwords from 127.0.0.2 until the throttle blocks that address (2 failures).
        for (var attempt = 0; attempt < 4 && !server.Output.Any(l => l.Contains($"Blocked login attempts from {Guesser}", StringComparison.Ordinal)); attempt++)
        {
            using var guesser = new Pop3Client { LocalEndPoint = new IPEndPoint(Guesser, 0) };
            await guesser.ConnectAsync("127.0.0.1", frontPop3, SecureSocketOptions.None);
            await Assert.ThrowsAsync<AuthenticationException>(() => guesser.AuthenticateAsync("alice", "wrong"));
        }
        Assert.Contains(server.Output, l => l.Contains($"Blocked login attempts from {Guesser}", StringComparison.Ordinal));
        Assert.DoesNotContain(server.Output, l => l.Contains($"Blocked login attempts from {Balancer}", StringComparison.Ordinal));
        using (var blocked = new Pop3Client { LocalEndPoint = new IPEndPoint(Guesser, 0) })
        {
            await blocked.ConnectAsync("127.0.0.1", frontPop3, SecureSocketOptions.None);
            await Assert.ThrowsAnyAsync<Exception>(() => blocked.AuthenticateAsync("alice", "secret"));
        }

        // The owner, through the same balancer, is not blocked: the block is on 127.0.0.2, not on 127.0.0.3.
        using (var owner = new Pop3Client { LocalEndPoint = new IPEndPoint(Owner, 0) })
        {
            await owner.ConnectAsync("127.0.0.1", frontPop3, SecureSocketOptions.None);
            await owner.AuthenticateAsync("alice", "secret");
            var message = await owner.GetMessageAsync(0);
            Assert.Contains($"[{Owner}]", message.Headers[MimeKit.HeaderId.Received], StringComparison.Ordinal);
            await owner.DisconnectAsync(quit: true);
        }
        Assert.True(await server.WaitForOutputAsync(l => l.Contains($"{Owner}:", StringComparison.Ordinal) && l.Contains("alice", StringComparison.Ordinal)),
            string.Join("\n", server.Output));

        // POP3S: TLS passes through HAProxy untouched, after the header.
        using (var tls = new Pop3Client { LocalEndPoint = new IPEndPoint(Owner, 0), ServerCertificateValidationCallback = (_, _, _, _) => true })
        {
            await tls.ConnectAsync("127.0.0.1", frontPop3s, SecureSocketOptions.SslOnConnect);
            await tls.AuthenticateAsync("alice", "secret");
            Assert.Equal(1, tls.Count);
            await tls.DisconnectAsync(quit: true);
        }

        // A PROXY header from 127.0.0.9 is not believed: closed before the greeting, logged with the sender.
        using (var viaStranger = new Pop3Client())
            await Assert.ThrowsAnyAsync<Exception>(() => viaStranger.ConnectAsync("127.0.0.1", frontUntrusted, SecureSocketOptions.None));
        await WaitForAsync(server, l => l.Contains($"Closed a connection from {Stranger}:", StringComparison.Ordinal) && l.Contains("not in ProxyTrustedNetworks", StringComparison.Ordinal));
    }

    /// <summary>packaging/haproxy.cfg with its addresses and ports swapped for this machine's loopback ones.</summary>
    private static string LoopbackVersion(string shipped, string sendProxy, int frontPop3, int frontPop3s, int frontLmtp, int pop3, int pop3s, int lmtp)
    {
        var lines = shipped.Split('\n').Where(l => !l.Contains("10.0.0.12", StringComparison.Ordinal));   // one node is enough here
        var text = string.Join('\n', lines)
            .Replace("bind :110", $"bind 127.0.0.1:{frontPop3}", StringComparison.Ordinal)
            .Replace("bind :995", $"bind 127.0.0.1:{frontPop3s}", StringComparison.Ordinal)
            .Replace("bind 10.0.0.5:24", $"bind 127.0.0.1:{frontLmtp}", StringComparison.Ordinal)
            .Replace("10.0.0.11:110 send-proxy-v2", $"127.0.0.1:{pop3} {sendProxy}", StringComparison.Ordinal)
            .Replace("10.0.0.11:995", $"127.0.0.1:{pop3s}", StringComparison.Ordinal)
            .Replace("10.0.0.11:24", $"127.0.0.1:{lmtp}", StringComparison.Ordinal)
            .Replace("source 10.0.0.5", $"source {Balancer}", StringComparison.Ordinal);
        Assert.DoesNotContain("10.0.0.", text.Split('\n').Where(l => !l.TrimStart().StartsWith('#')));
        return text;
    }

    private static async Task WaitForAsync(ServerProcess server, Func<string, bool> match)
    {
        for (var i = 0; i < 200 && !server.Output.Any(match); i++) await Task.Delay(50);
        Assert.True(server.Output.Any(match), string.Join("\n", server.Output.TakeLast(30)));
    }

    /// <summary>haproxy in the foreground (-db) on a configuration file, stopped with the test.</summary>
    private sealed class Haproxy : IAsyncDisposable
    {
        private readonly Process _process;

        private Haproxy(Process process) => _process = process;

        public static async Task<Haproxy> StartAsync(string program, string directory, string configuration, int probePort)
        {
            var path = Path.Combine(directory, "haproxy.cfg");
            await File.WriteAllTextAsync(path, configuration);
            var start = new ProcessStartInfo(program) { RedirectStandardOutput = true, RedirectStandardError = true };
            foreach (var argument in new[] { "-db", "-f", path }) start.ArgumentList.Add(argument);
            var process = Process.Start(start)!;
            var errors = process.StandardError.ReadToEndAsync();
            var haproxy = new Haproxy(process);
            for (var i = 0; i < 200; i++)
            {
                if (process.HasExited) throw new InvalidOperationException($"haproxy exited {process.ExitCode}: {await errors}");
                try
                {
                    using var probe = new TcpClient();
                    await probe.ConnectAsync(IPAddress.Loopback, probePort);
                    return haproxy;
                }
                catch (SocketException)
                {
                    await Task.Delay(50);
                }
            }
            await haproxy.DisposeAsync();
            throw new InvalidOperationException("haproxy did not start listening");
        }

        public async ValueTask DisposeAsync()
        {
            if (!_process.HasExited)
            {
                _process.Kill(entireProcessTree: true);
                await _process.WaitForExitAsync();
            }
            _process.Dispose();
        }
    }
}
