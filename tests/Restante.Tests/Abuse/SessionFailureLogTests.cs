using System.Text.RegularExpressions;
using Microsoft.Extensions.Logging;
using Restante.Auth;
using Restante.Hosting;
using Restante.Pop3;
using Restante.Tests.Infrastructure;

namespace Restante.Tests.Abuse;

/// <summary>
/// An exception no code path expected is a bug for the operator to look at: the session that met it
/// is logged at Error (issue 9 §7), not at Warning among the clients' misdeeds, and only that session ends.
/// </summary>
public class SessionFailureLogTests
{
    /// <summary>A user directory with a bug, behind the public seam a database directory would use.</summary>
    private sealed class BrokenUserDirectory : IUserDirectory
    {
        public ValueTask<UserRecord?> FindAsync(string name, CancellationToken cancellationToken)
            => throw new InvalidOperationException("user directory bug");
    }

    private static async Task<(Pop3Server Server, CapturingLoggerProvider Logs, TempDirectory Data)> StartAsync()
    {
        var data = new TempDirectory();
        var logs = new CapturingLoggerProvider();
        var loggerFactory = LoggerFactory.Create(b => b.SetMinimumLevel(LogLevel.Debug).AddProvider(logs));
        var options = new RestanteOptions { DataDirectory = data.Path, Pop3 = ["127.0.0.1:0"], Lmtp = ["127.0.0.1:0"], Fsync = false };
        var server = new Pop3Server(options, new Pop3Options { AuthFailureDelay = TimeSpan.Zero, Hostname = "test.example" }, loggerFactory,
            users: new BrokenUserDirectory());
        await server.StartAsync();
        return (server, logs, data);
    }

    [Fact]
    public async Task An_unexpected_exception_in_a_pop3_session_is_logged_at_error()
    {
        var (server, logs, data) = await StartAsync();
        try
        {
            await using var c = await Transcript.ConnectAsync(server.Pop3EndPoints[0]);
            await c.ExpectAsync("+OK");
            await c.SendAsync("USER alice");
            await c.ExpectAsync("+OK");
            await c.SendAsync("PASS secret");
            Assert.True(await c.IsClosedAsync());

            var failed = await LineAsync(logs, new Regex(@"^\w+ Restante\.Pop3 Session \d+ failed "));
            Assert.StartsWith("Error ", failed, StringComparison.Ordinal);
            Assert.Contains("user directory bug", failed, StringComparison.Ordinal);
        }
        finally
        {
            await server.DisposeAsync();
            data.Dispose();
        }
    }

    [Fact]
    public async Task An_unexpected_exception_in_an_lmtp_session_is_logged_at_error()
    {
        var (server, logs, data) = await StartAsync();
        try
        {
            await using var c = await Transcript.ConnectAsync((System.Net.IPEndPoint)server.LmtpEndPoints[0]);
            await c.ExpectAsync("220");
            await c.SendAsync("LHLO client.example");
            while ((await c.ReadLineAsync())!.StartsWith("250-", StringComparison.Ordinal)) { }
            await c.SendAsync("MAIL FROM:<s@example.org>");
            await c.ExpectAsync("250");
            await c.SendAsync("RCPT TO:<alice>");
            Assert.True(await c.IsClosedAsync());

            var failed = await LineAsync(logs, new Regex(@"^\w+ Restante\.Lmtp Lmtp session \d+ failed "));
            Assert.StartsWith("Error ", failed, StringComparison.Ordinal);
            Assert.Contains("user directory bug", failed, StringComparison.Ordinal);
        }
        finally
        {
            await server.DisposeAsync();
            data.Dispose();
        }
    }

    private static async Task<string> LineAsync(CapturingLoggerProvider logs, Regex pattern)
    {
        for (var waited = 0; waited < 30_000; waited += 20)
        {
            if (logs.Lines.FirstOrDefault(pattern.IsMatch) is { } line) return line;
            await Task.Delay(20);
        }
        throw new TimeoutException($"No log line matched {pattern}:\n{string.Join("\n", logs.Lines)}");
    }
}
