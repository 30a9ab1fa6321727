using System.Text.RegularExpressions;
using Restante.Tests.Infrastructure;

namespace Restante.Tests.Diagnostics;

/// <summary>The one Information line each POP3 session leaves when it ends.</summary>
public class SessionSummaryLogTests
{
    private static async Task<string> SummaryOfAsync(TestServer server, string reason)
    {
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(20);
        while (true)
        {
            var line = server.Logs.Lines.FirstOrDefault(l => l.StartsWith("Information Restante.Pop3 Session ", StringComparison.Ordinal)
                && l.Contains($" ended: {reason};", StringComparison.Ordinal));
            if (line is not null) return line;
            if (DateTime.UtcNow > deadline) throw new Xunit.Sdk.XunitException("No summary line:\n" + string.Join("\n", server.Logs.Lines));
            await Task.Delay(20);
        }
    }

    [Fact]
    public async Task A_session_over_stls_ends_with_user_peer_mechanism_tls_counts_bytes_duration_and_reason()
    {
        await using var server = await TestServer.StartAsync(configureServer: o => o.Pop3s = ["127.0.0.1:0"]);
        server.AddUser("alice", "secret");
        const string message = "Subject: one\r\n\r\nbody\r\n";
        server.Deliver("alice", message);
        server.Deliver("alice", message);
        await using var c = await server.ConnectAsync();
        await c.ExpectAsync("+OK");
        await c.SendAsync("STLS");
        await c.ExpectAsync("+OK");
        await c.StartTlsAsync(server.TrustServerCertificate);
        var protocol = c.Tls!.SslProtocol == System.Security.Authentication.SslProtocols.Tls13 ? "TLSv1.3" : "TLSv1.2";
        await c.SendAsync("AUTH PLAIN " + Convert.ToBase64String("\0alice\0secret"u8));
        await c.ExpectAsync("+OK");
        await c.SendAsync("RETR 1");
        await c.ExpectAsync("+OK");
        await c.ReadMultiLineAsync();
        await c.SendAsync("DELE 2");
        await c.ExpectAsync("+OK");
        await c.SendAsync("QUIT");
        await c.ExpectAsync("+OK");

        var line = await SummaryOfAsync(server, "quit");
        var match = Regex.Match(line, @"ended: quit; user alice from (?<peer>\S+) with PLAIN, TLS (?<tls>\S+), 1 retrieved, 1 deleted, (?<bytes>\d+) octets sent, (?<ms>\d+) ms, end quit");
        Assert.True(match.Success, line);
        Assert.Matches(@"^127\.0\.0\.1:\d+$", match.Groups["peer"].Value);
        Assert.Equal(protocol, match.Groups["tls"].Value);
        Assert.Equal(message.Length.ToString(System.Globalization.CultureInfo.InvariantCulture), match.Groups["bytes"].Value);
    }

    [Fact]
    public async Task A_session_that_never_logged_in_and_was_dropped_says_so()
    {
        await using var server = await TestServer.StartAsync();
        var c = await server.ConnectAsync();
        await c.ExpectAsync("+OK");
        await c.SendAsync("USER mallory");
        await c.ExpectAsync("+OK");
        c.Abort();
        var line = await SummaryOfAsync(server, "client disconnected");
        Assert.Matches(@"user - from 127\.0\.0\.1:\d+ with -, TLS no, 0 retrieved, 0 deleted, 0 octets sent, \d+ ms, end peer-closed", line);
        await c.DisposeAsync();
    }

    [Theory]
    [InlineData("quit", "quit")]
    [InlineData("timed out", "timeout")]
    [InlineData("TLS handshake timed out", "timeout")]
    [InlineData("client disconnected", "peer-closed")]
    [InlineData("connection lost", "peer-closed")]
    [InlineData("client disconnected during AUTH", "peer-closed")]
    [InlineData("server shutting down", "shutdown")]
    [InlineData("kicked by admin", "kicked")]
    [InlineData("too many bad commands", "error")]
    [InlineData("TLS handshake failed", "error")]
    [InlineData("internal error", "error")]
    public void Every_end_detail_falls_in_one_of_the_few_kinds(string detail, string kind)
        => Assert.Equal(kind, Restante.Pop3.SessionEndReason.Classify(detail));
}
