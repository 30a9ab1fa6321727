using System.Text;
using System.Text.Json;
using Restante.Tests.Infrastructure;
using Restante.Tests.Tls;

namespace Restante.Tests.Diagnostics;

/// <summary>`restante serve --log-format json`: one JSON object per line, whatever a client puts in a user name.</summary>
public class JsonLogFormatTests
{
    // CR, LF, quotes, a backslash and a whole forged JSON object, as a SASL PLAIN authentication identity can carry them.
    private const string HostileUser = "eve\"\r\n{\"LogLevel\":\"Critical\",\"forged\":true}\\\"";

    [Fact]
    public async Task Every_line_is_one_json_object_and_a_hostile_user_name_stays_inside_its_value()
    {
        using var data = new TempDirectory();
        File.WriteAllText(Path.Combine(data.Path, "passwd"), "alice:{PLAIN}secret\n");
        await using var server = await ServerProcess.StartAsync(data.Path, null, "--log-format", "json");

        await using (var c = await server.ConnectAsync())
        {
            await c.ExpectAsync("+OK");
            await c.SendAsync("AUTH PLAIN " + Convert.ToBase64String(Encoding.UTF8.GetBytes($"\0{HostileUser}\0wrong")));
            await c.ExpectAsync("-ERR [AUTH]");
            await c.SendAsync("USER quote\"d");
            await c.ExpectAsync("+OK");
            await c.SendAsync("PASS wrong");
            await c.ExpectAsync("-ERR [AUTH]");
            await c.SendAsync("USER alice");
            await c.ExpectAsync("+OK");
            await c.SendAsync("PASS secret");
            await c.ExpectAsync("+OK");
            await c.SendAsync("QUIT");
            await c.ExpectAsync("+OK");
        }
        server.Signal("TERM");
        Assert.Equal(0, await server.WaitForExitAsync(TimeSpan.FromSeconds(30)));
        await Task.Delay(200);   // the last output lines reach the reader after the exit

        var events = new List<JsonElement>();
        foreach (var line in server.Output.Where(l => l.Length > 0))
        {
            using var document = JsonDocument.Parse(line);   // throws on anything but one whole JSON value
            Assert.Equal(JsonValueKind.Object, document.RootElement.ValueKind);
            Assert.False(document.RootElement.TryGetProperty("forged", out _), line);
            events.Add(document.RootElement.Clone());
        }

        Assert.Contains(events, e => e.GetProperty("Message").GetString()!.StartsWith("POP3 listening on", StringComparison.Ordinal));
        var failures = events.Where(e => e.GetProperty("EventId").GetInt32() == 103).ToList();
        Assert.Equal(2, failures.Count);
        Assert.All(failures, f => Assert.Equal("Warning", f.GetProperty("LogLevel").GetString()));
        // The client's text is one escaped token (LogText), then JSON-escaped: no line end, no raw quote survives
        // in the value as logged, and the forged object is only ever text inside it.
        var hostile = failures[0].GetProperty("State").GetProperty("User").GetString()!;
        Assert.DoesNotContain('\r', hostile);
        Assert.DoesNotContain('\n', hostile);
        Assert.Contains("forged", hostile, StringComparison.Ordinal);
        Assert.StartsWith("eve", hostile, StringComparison.Ordinal);
        Assert.Equal("quote\"d", failures[1].GetProperty("State").GetProperty("User").GetString());

        var summary = Assert.Single(events, e => e.GetProperty("EventId").GetInt32() == 105);
        var state = summary.GetProperty("State");
        Assert.Equal("alice", state.GetProperty("User").GetString());
        Assert.Equal("USER/PASS", state.GetProperty("Mechanism").GetString());
        Assert.Equal("no", state.GetProperty("Tls").GetString());
        Assert.Equal("quit", state.GetProperty("End").GetString());
    }

    [Fact]
    public async Task An_unknown_log_format_is_refused_at_startup()
    {
        using var data = new TempDirectory();
        var (exitCode, output) = await Processes.RunAsync("dotnet", null, ServerProcess.CliPath, "serve", "--data", data.Path,
            "--pop3", $"127.0.0.1:{ServerProcess.FreePort()}", "--lmtp", "", "--log-format", "xml");
        Assert.Equal(1, exitCode);
        Assert.Contains("Logging:Format", output, StringComparison.Ordinal);
    }
}
