using MailKit.Net.Pop3;
using MailKit.Security;
using Restante.Tests.Infrastructure;
using Restante.Tests.Tls;

namespace Restante.Tests.Diagnostics;

/// <summary>
/// `restante serve --metrics`: the real program's Prometheus endpoint, scraped with HttpClient and curl while MailKit
/// drives a POP3 session and a delivery arrives over LMTP.
/// </summary>
public class MetricsEndpointTests
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(20);

    [Fact]
    public async Task Scraped_values_follow_a_real_session_and_a_delivery()
    {
        using var data = new TempDirectory();
        File.WriteAllText(Path.Combine(data.Path, "passwd"), "alice:{PLAIN}secret\n");
        var newDir = Path.Combine(data.Path, "mail", "alice", "new");
        Directory.CreateDirectory(newDir);
        foreach (var sub in new[] { "tmp", "cur" }) Directory.CreateDirectory(Path.Combine(data.Path, "mail", "alice", sub));
        var body = "Subject: hello\r\n\r\n" + new string('x', 5000) + "\r\n";
        File.WriteAllText(Path.Combine(newDir, "1700000000.M1P1.seed"), body);

        var metricsPort = ServerProcess.FreePort();
        // No APOP in the greeting: MailKit would try it before USER/PASS and count twice.
        await using var server = await ServerProcess.StartAsync(data.Path, null, new Dictionary<string, string> { ["RESTANTE_Apop"] = "Off" },
            "--metrics", $"127.0.0.1:{metricsPort}");
        using var http = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{metricsPort}/") };
        async Task<PrometheusScrape> ScrapeAsync() => new(await http.GetStringAsync("metrics"));
        async Task<PrometheusScrape> ScrapeUntilAsync(Func<PrometheusScrape, bool> condition)
        {
            var deadline = DateTime.UtcNow + Patience;
            while (true)
            {
                var scrape = await ScrapeAsync();
                if (condition(scrape)) return scrape;
                // The exporter caches a scrape for 300 ms; the server records as it answers, so this is soon true.
                if (DateTime.UtcNow > deadline) throw new Xunit.Sdk.XunitException("Metrics never reached the expected values:\n" + scrape.Text);
                await Task.Delay(100);
            }
        }

        var idle = await ScrapeAsync();
        Assert.Equal(0, idle.Value("restante_pop3_sessions_active"));
        Assert.Equal(0, idle.Value("restante_pop3_logins_total"));

        using var client = new Pop3Client();
        await client.ConnectAsync("127.0.0.1", server.Port, SecureSocketOptions.None);
        client.AuthenticationMechanisms.Clear();   // USER/PASS, so the mechanism tag is known
        await Assert.ThrowsAsync<AuthenticationException>(() => client.AuthenticateAsync("alice", "wrong"));
        var failed = await ScrapeUntilAsync(s => s.Value("restante_pop3_logins_total", ("outcome", "failure")) == 1);
        Assert.Equal(1, failed.Value("restante_pop3_logins_total", ("mechanism", "USER/PASS"), ("outcome", "failure")));
        Assert.Equal(0, failed.Value("restante_pop3_logins_total", ("outcome", "success")));
        Assert.Equal(1, failed.Value("restante_pop3_login_duration_seconds_count", ("outcome", "failure")));

        await client.AuthenticateAsync("alice", "secret");
        var loggedIn = await ScrapeUntilAsync(s => s.Value("restante_pop3_logins_total", ("outcome", "success")) == 1);
        Assert.Equal(1, loggedIn.Value("restante_pop3_logins_total", ("mechanism", "USER/PASS"), ("outcome", "success")));
        Assert.Equal(1, loggedIn.Value("restante_pop3_sessions_active"));
        Assert.Equal(0, loggedIn.Value("restante_pop3_message_sent_bytes_total"));

        var message = await client.GetMessageAsync(0);
        Assert.Equal("hello", message.Subject);
        var retrieved = await ScrapeUntilAsync(s => s.Value("restante_pop3_retr_duration_seconds_count") == 1);
        Assert.Equal(body.Length, retrieved.Value("restante_pop3_message_sent_bytes_total"));
        Assert.Equal(1, retrieved.Value("restante_pop3_sessions_active"));

        await client.DisconnectAsync(quit: true);
        var ended = await ScrapeUntilAsync(s => s.Value("restante_pop3_sessions_ended_total") == 1);
        Assert.Equal(1, ended.Value("restante_pop3_sessions_ended_total", ("reason", "quit")));
        Assert.Equal(0, ended.Value("restante_pop3_sessions_active"));

        await using (var lmtp = await server.ConnectLmtpAsync())
        {
            await lmtp.ExpectAsync("220 ");
            await lmtp.SendAsync("LHLO test.example");
            while ((await lmtp.ReadLineAsync())!.StartsWith("250-", StringComparison.Ordinal)) { }
            await lmtp.SendAsync("MAIL FROM:<bob@example.org>");
            await lmtp.ExpectAsync("250 ");
            await lmtp.SendAsync("RCPT TO:<alice>");
            await lmtp.ExpectAsync("250 ");
            await lmtp.SendAsync("DATA");
            await lmtp.ExpectAsync("354 ");
            await lmtp.SendAsync("Subject: via lmtp\r\n\r\nhi\r\n.");
            await lmtp.ExpectAsync("250 ");
        }

        // The same endpoint through curl, as an operator or Prometheus would reach it.
        var deadline = DateTime.UtcNow + Patience;
        PrometheusScrape curled;
        do
        {
            var (exitCode, output) = await Processes.RunAsync("curl", null, "-sS", "--fail", $"http://127.0.0.1:{metricsPort}/metrics");
            Assert.True(exitCode == 0, output);
            curled = new PrometheusScrape(output);
            if (curled.Value("restante_deliveries_total", ("protocol", "lmtp"), ("outcome", "delivered")) == 1) break;
            await Task.Delay(100);
        }
        while (DateTime.UtcNow < deadline);
        Assert.Equal(1, curled.Value("restante_deliveries_total", ("protocol", "lmtp"), ("outcome", "delivered")));
        Assert.Equal(0, curled.Value("restante_auth_hashing_queue"));
        Assert.Equal(0, curled.Value("restante_auth_throttled_addresses"));

        // Low cardinality: no label anywhere carries the user name or the client's address.
        Assert.DoesNotContain("alice", curled.Text, StringComparison.Ordinal);
        Assert.DoesNotContain("bob@", curled.Text, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Without_metrics_nothing_listens()
    {
        using var data = new TempDirectory();
        var metricsPort = ServerProcess.FreePort();
        await using var server = await ServerProcess.StartAsync(data.Path);
        using var http = new HttpClient();
        await Assert.ThrowsAsync<HttpRequestException>(() => http.GetStringAsync($"http://127.0.0.1:{metricsPort}/metrics"));
        Assert.DoesNotContain(server.Output, l => l.Contains("Metrics on", StringComparison.Ordinal));
    }

    [Theory]
    [InlineData("0.0.0.0:9110", "not a loopback address")]
    [InlineData("192.0.2.1:9110", "not a loopback address")]
    [InlineData("127.0.0.1:0", "needs a fixed port")]
    [InlineData("nonsense", "Metrics:Listen")]
    public async Task A_metrics_address_that_is_not_loopback_or_not_fixed_is_refused_at_startup(string address, string expected)
    {
        using var data = new TempDirectory();
        var (exitCode, output) = await Processes.RunAsync("dotnet", null, ServerProcess.CliPath, "serve", "--data", data.Path,
            "--pop3", $"127.0.0.1:{ServerProcess.FreePort()}", "--lmtp", "", "--metrics", address);
        Assert.Equal(1, exitCode);
        Assert.Contains(expected, output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_non_loopback_metrics_address_is_accepted_when_explicitly_allowed()
    {
        using var data = new TempDirectory();
        var metricsPort = ServerProcess.FreePort();
        await using var server = await ServerProcess.StartAsync(data.Path, null, "--metrics", $"0.0.0.0:{metricsPort}", "--metrics-allow-remote");
        using var http = new HttpClient();
        var text = await http.GetStringAsync($"http://127.0.0.1:{metricsPort}/metrics");
        Assert.Contains("restante_pop3_sessions_active", text, StringComparison.Ordinal);
    }
}
