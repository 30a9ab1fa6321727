using System.Diagnostics;
using System.Text;
using Restante.Tests.Infrastructure;

namespace Restante.Tests.Interop;

/// <summary>curl and Python's poplib, as installed on the machine, fetch byte-exact messages.</summary>
public class ExternalClientTests
{
    // LF line ends, dot-leading lines, 8-bit bytes and no final newline: everything that must be converted.
    private static readonly byte[] s_stored = Encoding.Latin1.GetBytes(
        "From: a@example.com\nSubject: interop\n\n.one dot\n..two\n\u00e9t\u00e9 8bit \u00ff\nlast line without newline");

    private static byte[] ExpectedOnTheWire()
    {
        var text = Encoding.Latin1.GetString(s_stored).Replace("\n", "\r\n") + "\r\n";
        return Encoding.Latin1.GetBytes(text);
    }

    [Fact]
    public async Task Curl_downloads_the_message_byte_for_byte()
    {
        await using var server = await TestServer.StartAsync();
        server.AddUser("alice", "secret");
        server.Deliver("alice", s_stored);
        var output = Path.Combine(server.Data.Path, "curl.out");
        var (exit, stderr) = await RunAsync("curl", "-sS", "--max-time", "20", "-o", output,
            $"pop3://alice:secret@127.0.0.1:{server.Port}/1");
        Assert.True(exit == 0, stderr);
        Assert.Equal(ExpectedOnTheWire(), await File.ReadAllBytesAsync(output));
    }

    [Fact]
    public async Task Curl_lists_messages()
    {
        await using var server = await TestServer.StartAsync();
        server.AddUser("alice", "secret");
        server.Deliver("alice", s_stored);
        var output = Path.Combine(server.Data.Path, "list.out");
        var (exit, stderr) = await RunAsync("curl", "-sS", "--max-time", "20", "-o", output, $"pop3://alice:secret@127.0.0.1:{server.Port}/");
        Assert.True(exit == 0, stderr);
        Assert.Equal($"1 {ExpectedOnTheWire().Length}\r\n", await File.ReadAllTextAsync(output));
    }

    [Fact]
    public async Task Python_poplib_retrieves_and_deletes()
    {
        await using var server = await TestServer.StartAsync();
        server.AddUser("alice", "secret");
        server.Deliver("alice", s_stored, 1_700_000_000);
        server.Deliver("alice", "Subject: keep\n\nkeep me\n", 1_700_000_001);
        var output = Path.Combine(server.Data.Path, "poplib.out");
        var script = $$"""
            import poplib, sys
            p = poplib.POP3('127.0.0.1', {{server.Port}}, timeout=20)
            p.user('alice'); p.pass_('secret')
            count, size = p.stat()
            resp, lines, octets = p.retr(1)
            data = b'\r\n'.join(lines) + b'\r\n'
            open(sys.argv[1], 'wb').write(data)
            uidl = p.uidl()
            p.dele(1)
            p.quit()
            print(count, size, len(uidl[1]))
            """;
        var (exit, stdout) = await RunAsync("python3", "-c", script, output);
        Assert.True(exit == 0, stdout);
        Assert.Equal(ExpectedOnTheWire(), await File.ReadAllBytesAsync(output));
        Assert.Single(server.MessageFiles("alice"));
        Assert.Equal("Subject: keep\n\nkeep me\n", await File.ReadAllTextAsync(server.MessageFiles("alice")[0]));
    }

    internal static async Task<(int ExitCode, string Output)> RunAsync(string program, params string[] arguments)
    {
        var start = new ProcessStartInfo(program) { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var argument in arguments) start.ArgumentList.Add(argument);
        using var process = Process.Start(start)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        await process.WaitForExitAsync(timeout.Token);
        return (process.ExitCode, await stdout + await stderr);
    }
}
