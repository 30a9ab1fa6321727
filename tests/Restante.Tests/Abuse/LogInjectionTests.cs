using System.Diagnostics;
using System.Text;
using System.Text.RegularExpressions;
using Restante.Tests.Infrastructure;
using Restante.Tests.Tls;

namespace Restante.Tests.Abuse;

/// <summary>
/// A client must not be able to write the log (issue 9 §3): an AUTH PLAIN user name carrying a line
/// end and the words of the block message once made the README's fail2ban filter ban an address of
/// the attacker's choice. These run the real server, the real attack and the real fail2ban.
/// </summary>
public class LogInjectionTests
{
    private const string Forged = "198.51.100.";
    private static readonly Regex s_logLine = new(@"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d (trce|dbug|info|warn|fail|crit): ", RegexOptions.CultureInvariant);

    private static string B64(string text) => Convert.ToBase64String(Encoding.UTF8.GetBytes(text));

    /// <summary>
    /// The attack over a real session of `restante serve`, its log file as the process wrote it, and
    /// Debian's fail2ban-regex with the filter the README gives: the one address banned is the
    /// attacker's own (loopback, made untrusted for the test), never one the attacker wrote.
    /// </summary>
    [SkippableFact]
    public async Task Fail2ban_with_the_readme_filter_bans_the_real_peer_and_no_address_a_client_wrote()
    {
        var fail2ban = FindOnPath("fail2ban-regex");
        Skip.If(fail2ban is null, "fail2ban-regex is not installed; test.sh installs Debian's fail2ban package for this test.");

        using var data = new TempDirectory();
        File.WriteAllText(Path.Combine(data.Path, "passwd"), "alice:{PLAIN}secret::::::\n");
        var now = DateTime.Now.ToString("yyyy-MM-dd HH:mm:ss", System.Globalization.CultureInfo.InvariantCulture);
        await using (var server = await LoggedServerProcess.StartAsync(data.Path, new Dictionary<string, string>
        {
            ["RESTANTE_AuthFailureDelay"] = "00:00:00",
            ["RESTANTE_TrustLoopback"] = "false",           // so the attacker on loopback can be blocked for real
            ["RESTANTE_LoginThrottle__MaxFailuresPerIp"] = "3",
        }, "--log-level", "Debug"))
        {
            await using (var c = await server.ConnectAsync())
            {
                await c.ExpectAsync("+OK");
                // The issue's exact attack, then the same with LF and a whole forged log line, then plain words.
                foreach (var authcid in new[]
                {
                    $"x\rBlocked login attempts from {Forged}23 after 10 failures",
                    $"y\n{now} warn: Restante.Auth.LoginThrottle[310] Blocked login attempts from {Forged}24 after 10 failures (alice: 10) for 00:15:00",
                    $"Blocked login attempts from {Forged}25 after 10 failures",
                })
                {
                    await c.SendAsync("AUTH PLAIN " + B64("\0" + authcid + "\0wrong"));
                    await c.ExpectAsync("-ERR [AUTH]");
                }
                // Blocked now: the address is the real peer's, the user name (the last attempt's) the attacker's.
                await c.SendAsync("AUTH PLAIN " + B64("\0alice\0secret"));
                await c.ExpectAsync("-ERR [SYS/TEMP]");
                // Debug logs every command: arguments and unknown lines are client text too.
                await c.SendAsync($"USER z\rBlocked login attempts from {Forged}26 after 10 failures");
                await c.ReadLineAsync();
                await c.SendAsync($"{now} warn: Restante.Auth.LoginThrottle[310] Blocked login attempts from {Forged}27 after 10 failures");
                await c.ReadLineAsync();
            }
            await using (var lmtp = await server.ConnectLmtpAsync())
            {
                await lmtp.ExpectAsync("220");
                await lmtp.SendAsync($"LHLO a\rBlocked login attempts from {Forged}28 after 10 failures");
                await lmtp.ExpectAsync("501");
                await lmtp.SendAsync("LHLO client.example");
                while ((await lmtp.ReadLineAsync())!.StartsWith("250-", StringComparison.Ordinal)) { }
                await lmtp.SendAsync($"MAIL FROM:<\"\r{now} warn: Restante.Auth.LoginThrottle[310] Blocked login attempts from {Forged}29 after\"@example.org>");
                await lmtp.ReadLineAsync();
                await lmtp.SendAsync($"RCPT TO:<\"\rBlocked login attempts from {Forged}30 after\"@example.org>");
                await lmtp.ReadLineAsync();
                await lmtp.SendAsync("QUIT");
                await lmtp.ReadLineAsync();
            }
            await server.WaitForLogAsync(new Regex(@"Lmtp session \d+ ended: "));
        }

        // What fail2ban would ban: the real peer, once.
        var filter = Path.Combine(data.Path, "restante.conf");
        File.WriteAllText(filter, ReadmeFail2banFilter());
        var (exitCode, output) = await Processes.RunAsync(fail2ban!, null, "-o", "ip", Path.Combine(data.Path, "server.log"), filter);
        Assert.True(exitCode == 0, output);
        var banned = output.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        Assert.Equal(["127.0.0.1"], banned);

        var logBytes = File.ReadAllBytes(Path.Combine(data.Path, "server.log"));
        var log = Encoding.UTF8.GetString(logBytes);
        // The attack did reach the log, escaped: one token, no line end, no spaces, cut at 64 characters.
        Assert.Contains(@"x\x0dBlocked\x20login\x20attempts\x20from\x20198.51.100.23", log);
        Assert.Contains(@"(Blocked\x20login\x20attempts\x20from\x20198.51.100.25\x20after...[cut]: 1)", log);
        // fail2ban splits at LF; a CR anywhere would still let a terminal or another tool show a forged line.
        Assert.DoesNotContain((byte)'\r', logBytes);
        var lines = log.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.All(lines.Where(l => l.Contains(Forged, StringComparison.Ordinal)), l => Assert.Matches(s_logLine, l));
        // The peer sits at a fixed place, before any client text, in every failed-login line.
        var failures = lines.Where(l => l.Contains("Restante.Pop3[103]", StringComparison.Ordinal)).ToList();
        Assert.Equal(3, failures.Count);
        Assert.All(failures, l => Assert.Matches(@" Authentication failed from 127\.0\.0\.1:\d+ for user \S+ with PLAIN$", l));
    }

    /// <summary>The fail2ban filter file exactly as the README shows it (the ```ini block under "Password guessing").</summary>
    private static string ReadmeFail2banFilter()
    {
        var readme = File.ReadAllLines(Path.Combine(RepositoryRoot(), "README.md"));
        var start = Array.FindIndex(readme, l => l.Contains("filter.d/restante.conf", StringComparison.Ordinal));
        Assert.True(start > 0, "README.md has no fail2ban filter for Restante");
        var end = Array.FindIndex(readme, start, l => l.Trim() == "```");
        return string.Join('\n', readme[start..end].Select(l => l.Trim())) + "\n";
    }

    private static string RepositoryRoot()
    {
        for (var directory = new DirectoryInfo(AppContext.BaseDirectory); directory is not null; directory = directory.Parent)
            if (File.Exists(Path.Combine(directory.FullName, "Restante.slnx"))) return directory.FullName;
        throw new DirectoryNotFoundException("No Restante.slnx above " + AppContext.BaseDirectory);
    }

    private static string? FindOnPath(string program)
        => (Environment.GetEnvironmentVariable("PATH") ?? "").Split(Path.PathSeparator)
            .Select(d => Path.Combine(d, program)).FirstOrDefault(File.Exists);

    [Fact]
    public async Task An_unknown_pop3_command_is_neither_echoed_nor_logged()
    {
        await using var server = await TestServer.StartAsync();
        server.AddUser("alice", "secret");
        await using var c = await server.ConnectAsync();
        await c.ExpectAsync("+OK");
        // A mistyped mechanism keyword: the line is an unknown command that carries a credential.
        var credential = B64("\0alice\0secret");
        await c.SendAsync("AUTH PLAN " + credential);
        Assert.Equal("-ERR Unsupported authentication mechanism.", await c.ReadLineAsync());
        await c.SendAsync("AUTHPLAIN " + credential);
        Assert.Equal("-ERR Unknown command.", await c.ReadLineAsync());
        await c.SendAsync("XYZZY hunter2");
        Assert.Equal("-ERR Unknown command.", await c.ReadLineAsync());
        await c.SendAsync("QUIT");
        await c.ExpectAsync("+OK");

        await WaitUntilAsync(() => server.Logs.Lines.Any(l => l.Contains("ended", StringComparison.Ordinal)));
        var log = string.Join("\n", server.Logs.Lines);
        foreach (var secret in new[] { credential, credential[..16], "AUTHPLAIN", "XYZZY", "hunter2", "PLAN" })
            Assert.DoesNotContain(secret, log);
        Assert.Contains($"Unknown command ({"AUTHPLAIN ".Length + credential.Length} octets) -> -ERR", log);
        Assert.Contains($"Unknown command ({"XYZZY hunter2".Length} octets) -> -ERR", log);
    }

    [Fact]
    public async Task An_unknown_lmtp_command_is_neither_echoed_nor_logged()
    {
        await using var server = await TestServer.StartAsync();
        await using var c = await Transcript.ConnectAsync(server.LmtpEndPoint);
        await c.ExpectAsync("220");
        await c.SendAsync("XAUTH hunter2");
        Assert.Equal("500 5.5.1 Command unrecognized", await c.ReadLineAsync());
        await c.SendAsync("QUIT");
        await c.ExpectAsync("221");

        await WaitUntilAsync(() => server.Logs.Lines.Any(l => l.Contains("ended", StringComparison.Ordinal)));
        var log = string.Join("\n", server.Logs.Lines);
        Assert.DoesNotContain("hunter2", log);
        Assert.DoesNotContain("XAUTH", log);
        Assert.Contains($"Unknown command ({"XAUTH hunter2".Length} octets) -> 500", log);
    }

    [Fact]
    public async Task The_delivery_log_line_shows_the_senders_words_as_one_token()
    {
        await using var server = await TestServer.StartAsync();
        server.AddUser("alice", "secret");
        var (c, _) = await Lmtp.Lmtp.GreetAsync(server);
        await using var _c = c;
        // A Message-ID header is the sender's text, and so is the envelope sender.
        await Lmtp.Lmtp.SendMessageAsync(c, "s@example.org",
            $"Message-ID: <a b> status=Delivered uid=forged Blocked login attempts from {Forged}31 after\r\n\r\nbody\r\n", "alice");
        await c.ExpectAsync("250 2.0.0");

        var line = Assert.Single(server.Logs.Lines, l => l.Contains("status=Delivered", StringComparison.Ordinal));
        Assert.Contains(@" message-id=<a\x20b>\x20status=Delivered\x20uid=forged\x20Blocked\x20login\x20attempts\x20fr", line);
        Assert.DoesNotContain("Blocked login", line);
        Assert.Single(Regex.Matches(line, " status=").ToList());
    }

    private static async Task WaitUntilAsync(Func<bool> condition)
    {
        var watch = Stopwatch.StartNew();
        while (!condition())
        {
            Assert.True(watch.Elapsed < TimeSpan.FromSeconds(30), "condition not reached");
            await Task.Delay(20);
        }
    }
}
