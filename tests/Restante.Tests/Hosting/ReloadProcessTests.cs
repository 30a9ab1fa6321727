using System.Net;
using System.Security.Cryptography.X509Certificates;
using System.Text.Json.Nodes;
using MailKit.Net.Pop3;
using MailKit.Security;
using Restante.Networking;
using Restante.Tests.Infrastructure;

namespace Restante.Tests.Hosting;

/// <summary>
/// SIGHUP to a real `restante serve`: open sessions go on, the next connection meets the new limits and
/// certificate and the new log level, keys that cannot change live are named in a warning, and a
/// configuration that does not parse or validate changes nothing.
/// </summary>
public sealed class ReloadProcessTests
{
    [LinuxFact("sends SIGHUP")]
    public async Task Sighup_applies_limits_certificate_and_log_level_without_dropping_sessions()
    {
        using var data = new TempDirectory();
        File.WriteAllText(Path.Combine(data.Path, "passwd"), "alice:{PLAIN}secret\n");
        var inbox = Path.Combine(data.Path, "mail", "alice");
        foreach (var sub in new[] { "tmp", "new", "cur" }) Directory.CreateDirectory(Path.Combine(inbox, sub));
        File.WriteAllText(Path.Combine(inbox, "new", "1700000000.M1P1.test"), "Subject: kept\r\n\r\nstill here\r\n");
        using var first = DevCertificate.Create(Path.Combine(data.Path, "cert-a"));
        using var second = DevCertificate.Create(Path.Combine(data.Path, "cert-b"));
        var pop3s = ServerProcess.FreePort();
        var configPath = Path.Combine(data.Path, "restante.json");
        var config = new JsonObject
        {
            ["Pop3s"] = new JsonArray($"127.0.0.1:{pop3s}"),
            ["TlsCertificate"] = DevCertificate.CertificatePath(Path.Combine(data.Path, "cert-a")),
            ["TlsKey"] = DevCertificate.KeyPath(Path.Combine(data.Path, "cert-a")),
            ["TrustLoopback"] = false,
            ["AllowPlaintext"] = true,
            ["MaxConnectionsPerIp"] = 10,
        };
        await File.WriteAllTextAsync(configPath, config.ToJsonString());
        await using var server = await ServerProcess.StartAsync(data.Path, null, "--config", configPath);

        // Two sessions open across the reload: plaintext POP3, and POP3S on the first certificate.
        using var plain = new Pop3Client();
        await plain.ConnectAsync("127.0.0.1", server.Port, SecureSocketOptions.None);
        await plain.AuthenticateAsync("alice", "secret");
        string? before = null;
        using var tls = new Pop3Client { ServerCertificateValidationCallback = (_, c, _, _) => (before = c!.GetCertHashString()) is not null };
        await tls.ConnectAsync("127.0.0.1", pop3s, SecureSocketOptions.SslOnConnect);
        Assert.Equal(first.Thumbprint, before);
        Assert.DoesNotContain(server.Output, l => l.Contains(" dbug: ", StringComparison.Ordinal));

        config["MaxConnectionsPerIp"] = 2;
        config["TlsCertificate"] = DevCertificate.CertificatePath(Path.Combine(data.Path, "cert-b"));
        config["TlsKey"] = DevCertificate.KeyPath(Path.Combine(data.Path, "cert-b"));
        config["Logging"] = new JsonObject { ["LogLevel"] = new JsonObject { ["Default"] = "Debug" } };
        config["Store"] = "memory";   // cannot change under a running server: named, not applied
        await File.WriteAllTextAsync(configPath, config.ToJsonString());
        var reloads = Count(server, "Configuration reloaded");
        server.Signal("HUP");
        await WaitForAsync(server, () => Count(server, "Configuration reloaded") > reloads);
        Assert.Contains(server.Output, l => l.Contains("Configuration reloaded", StringComparison.Ordinal)
            && l.Contains("MaxConnectionsPerIp", StringComparison.Ordinal) && l.Contains("TlsCertificate", StringComparison.Ordinal)
            && l.Contains("Logging:LogLevel:Default", StringComparison.Ordinal));
        Assert.True(await server.WaitForOutputAsync(l => l.Contains(" warn: ", StringComparison.Ordinal) && l.Contains("Store cannot change while running", StringComparison.Ordinal)),
            string.Join("\n", server.Output.TakeLast(30)));
        Assert.False(server.HasExited);

        // The open sessions go on: RETR and QUIT on the old connection, STAT over the old TLS session.
        var message = await plain.GetMessageAsync(0);
        Assert.Equal("kept", message.Subject);
        await plain.DisconnectAsync(quit: true);
        await tls.AuthenticateAsync("alice", "secret");
        Assert.Equal(1, tls.Count);
        await tls.DisconnectAsync(quit: true);
        // The client hangs up after +OK to QUIT, before the server has closed its end and given back the per-address
        // slot: wait for both sessions' end lines (logged just before the slot goes) so the lowered limit of 2 does not
        // refuse the next connection.
        await WaitForAsync(server, () => Count(server, " ended: ") >= 2);

        // A new TLS client gets the new certificate; the maildir store is still the one in use (the message is there).
        string? after = null;
        using (var fresh = new Pop3Client { ServerCertificateValidationCallback = (_, c, _, _) => (after = c!.GetCertHashString()) is not null })
        {
            // The end line comes just before the slot is given back, so on a loaded machine the first try may still meet
            // the limit of 2 (a plaintext refusal where the TLS handshake expected a hello): tried again a few times.
            for (var attempt = 0; ; attempt++)
            {
                try
                {
                    await fresh.ConnectAsync("127.0.0.1", pop3s, SecureSocketOptions.SslOnConnect);
                    break;
                }
                catch (Exception ex) when (attempt < 40 && ex is SslHandshakeException or System.Security.Authentication.AuthenticationException or IOException or Pop3ProtocolException)
                {
                    await Task.Delay(100);
                }
            }
            await fresh.AuthenticateAsync("alice", "secret");
            Assert.Equal(1, fresh.Count);
            await fresh.DisconnectAsync(quit: true);
        }
        Assert.Equal(second.Thumbprint, after);
        await WaitForAsync(server, () => Count(server, " ended: ") >= 3);
        // Debug is on now: the commands of that session were logged.
        await WaitForAsync(server, () => server.Output.Any(l => l.Contains(" dbug: ", StringComparison.Ordinal)));

        // The lowered per-address limit: a third connection from 127.0.0.1 is refused.
        await AssertPerAddressLimitAsync(server, 2);
    }

    [LinuxFact("sends SIGHUP")]
    public async Task A_reload_with_an_invalid_configuration_keeps_the_running_one_and_logs_an_error()
    {
        using var data = new TempDirectory();
        File.WriteAllText(Path.Combine(data.Path, "passwd"), "alice:{PLAIN}secret\n");
        var configPath = Path.Combine(data.Path, "restante.json");
        await File.WriteAllTextAsync(configPath, """{ "TrustLoopback": false, "MaxConnectionsPerIp": 2 }""");
        await using var server = await ServerProcess.StartAsync(data.Path, null, "--config", configPath);
        await using var open = await server.ConnectAsync();
        await open.ExpectAsync("+OK");

        string[] broken =
        [
            """{ "TrustLoopback": false, "MaxConnectionsPerIp": 5, """,                          // does not parse
            """{ "TrustLoopback": false, "MaxConnectionsPerIp": 0 }""",                          // out of range
            """{ "TrustLoopback": false, "MaxConnectionsPerIp": 5, "TlsCertificate": "/nonexistent/cert.pem" }""",   // cannot load
        ];
        string[] expected = ["restante.json", "MaxConnectionsPerIp must be at least 1", "cannot load /nonexistent/cert.pem"];
        for (var i = 0; i < broken.Length; i++)
        {
            await File.WriteAllTextAsync(configPath, broken[i]);
            var refusals = Count(server, "Configuration reload refused");
            server.Signal("HUP");
            await WaitForAsync(server, () => Count(server, "Configuration reload refused") > refusals);
            Assert.Contains(server.Output, l => l.Contains(" fail: ", StringComparison.Ordinal)
                && l.Contains("Configuration reload refused", StringComparison.Ordinal) && l.Contains(expected[i], StringComparison.Ordinal));
        }
        Assert.DoesNotContain(server.Output, l => l.Contains("Configuration reloaded", StringComparison.Ordinal));

        // Still serving, on the old limit of 2 per address: the open session and one more, not a third.
        await open.SendAsync("USER alice");
        await open.ExpectAsync("+OK");
        await using var second = await server.ConnectAsync();
        await second.ExpectAsync("+OK");
        await using var third = await server.ConnectAsync();
        await third.ExpectAsync("-ERR [SYS/TEMP] Too many connections");
    }

    private static async Task AssertPerAddressLimitAsync(ServerProcess server, int limit)
    {
        // A session that just ended may hold its slot a moment longer (its end line is logged first): until `limit`
        // connections are all greeted, that is an earlier session's slot, so they are let go and tried again.
        for (var attempt = 0; ; attempt++)
        {
            var held = new List<Transcript>();
            try
            {
                var greeted = 0;
                for (var i = 0; i < limit; i++)
                {
                    var c = await server.ConnectAsync();
                    held.Add(c);
                    if ((await c.ReadLineAsync())?.StartsWith("+OK", StringComparison.Ordinal) == true) greeted++;
                }
                if (greeted < limit && attempt < 40)
                {
                    await Task.Delay(100);
                    continue;
                }
                Assert.Equal(limit, greeted);
                var refused = await server.ConnectAsync();
                held.Add(refused);
                await refused.ExpectAsync("-ERR [SYS/TEMP] Too many connections");
                return;
            }
            finally
            {
                foreach (var c in held) await c.DisposeAsync();
            }
        }
    }

    private static int Count(ServerProcess server, string text) => server.Output.Count(l => l.Contains(text, StringComparison.Ordinal));

    private static async Task WaitForAsync(ServerProcess server, Func<bool> condition)
    {
        for (var i = 0; i < 300 && !condition(); i++) await Task.Delay(50);
        Assert.True(condition(), string.Join("\n", server.Output.TakeLast(30)));
    }
}
