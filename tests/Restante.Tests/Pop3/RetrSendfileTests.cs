using System.Text;
using Microsoft.Extensions.Logging;
using Restante.Hosting;
using Restante.Networking;
using Restante.Pop3;
using Restante.Storage.Maildir;
using Restante.Tests.Infrastructure;

namespace Restante.Tests.Pop3;

/// <summary>
/// RETR of files our delivery stored in wire form, which a plain connection sends with sendfile(2) on the descriptor
/// the store opened: byte for byte at and around the read chunk size and past the socket buffers (a client that reads
/// late makes the send wait for room), a file cut short on disk after it was opened (the reply must not be ended as
/// if it were whole), and a client that stops reading (the write timeout still ends the session and frees its slot).
/// Real server, real sockets, real files.
/// </summary>
public class RetrSendfileTests
{
    private const int Chunk = Restante.Pop3.Commands.MessageSender.ChunkSize;

    /// <summary>CRLF lines of 64 octets, no line starting with '.': what the delivery marks as wire form.</summary>
    private static byte[] WireMessage(int length)
    {
        var text = new StringBuilder("Subject: wire\r\n\r\n");
        var line = new string('x', 62) + "\r\n";
        while (length - text.Length > 66) text.Append(line);
        text.Append('y', length - text.Length - 2).Append("\r\n");   // the last line makes the length exact
        return Encoding.ASCII.GetBytes(text.ToString());
    }

    private static int SendfileCount(CapturingLoggerProvider logs) => logs.Lines.Count(l => l.Contains("with sendfile", StringComparison.Ordinal));

    private static async Task<string> DeliverWireAsync(TestServer server, string user, byte[] message)
    {
        var before = server.MessageFiles(user).ToHashSet();
        var store = new MaildirStore(Path.Combine(server.Data.Path, "mail", "%u"));
        await store.DeliverAsync(user, new MemoryStream(message), CancellationToken.None);
        var file = Assert.Single(server.MessageFiles(user), f => !before.Contains(f));
        Assert.Contains($",P={message.Length}", Path.GetFileName(file), StringComparison.Ordinal);   // marked for sendfile
        return file;
    }

    [Fact]
    public async Task Wire_form_files_around_the_chunk_size_and_past_the_socket_buffers_are_sent_whole()
    {
        await using var server = await TestServer.StartAsync();
        server.AddUser("alice", "secret");
        var lengths = new[] { 20, Chunk - 1, Chunk, Chunk + 1, 2 * Chunk, 12 * 1024 * 1024 };
        var messages = new List<byte[]>();
        foreach (var length in lengths)
        {
            messages.Add(WireMessage(length));
            await DeliverWireAsync(server, "alice", messages[^1]);
        }
        await using var c = await server.LoginAsync("alice", "secret");
        for (var i = 0; i < messages.Count; i++)
        {
            await c.SendAsync($"RETR {i + 1}");
            Assert.Equal($"+OK {messages[i].Length} octets", await c.ReadLineAsync());
            // Reading late lets the server fill the socket buffers and wait for room (the 12 MB one certainly).
            await Task.Delay(200);
            var raw = await c.ReadRawBodyAsync();
            Assert.True(raw.AsSpan().SequenceEqual([.. messages[i], .. ".\r\n"u8]), $"message {i + 1}: {messages[i].Length} octets, got {raw.Length}");
        }
        await c.SendAsync("NOOP");
        await c.ExpectAsync("+OK");
        Assert.Equal(messages.Count, SendfileCount(server.Logs));
    }

    [Fact]
    [System.Runtime.Versioning.UnsupportedOSPlatform("windows")]
    public async Task A_wire_form_file_cut_short_after_it_was_opened_ends_the_session_without_ending_the_reply()
    {
        using var data = new TempDirectory();
        File.WriteAllText(Path.Combine(data.Path, "passwd"), "alice:{PLAIN}secret::::::\n");
        var logs = new CapturingLoggerProvider();
        using var loggerFactory = LoggerFactory.Create(b => b.SetMinimumLevel(LogLevel.Debug).AddProvider(logs));
        var hooks = new TruncateOnRetrieve();
        var options = new RestanteOptions { DataDirectory = data.Path, Pop3 = ["127.0.0.1:0"], Fsync = false };
        await using var server = new Pop3Server(options, new Pop3Options { Hostname = "test.example" }, loggerFactory, sessionHooks: hooks);
        await server.StartAsync();
        var message = WireMessage(3 * Chunk);
        var store = new MaildirStore(Path.Combine(data.Path, "mail", "%u"));
        await store.DeliverAsync("alice", new MemoryStream(message), CancellationToken.None);
        hooks.File = Assert.Single(Directory.GetFiles(Path.Combine(data.Path, "mail", "alice", "new")));
        Assert.Contains(",P=", Path.GetFileName(hooks.File), StringComparison.Ordinal);

        await using var c = await Transcript.ConnectAsync(server.Pop3EndPoints[0]);
        await c.ExpectAsync("+OK");
        await c.SendAsync("USER alice");
        await c.ExpectAsync("+OK");
        await c.SendAsync("PASS secret");
        await c.ExpectAsync("+OK");
        await c.SendAsync("RETR 1");
        Assert.Equal($"+OK {message.Length} octets", await c.ReadLineAsync());   // LIST's size, checked against the file at open
        long received = 0;
        while (await c.ReadLineBytesAsync() is { } line)   // each line without its CRLF; null once the server hangs up
        {
            Assert.False(line.AsSpan().SequenceEqual("."u8), "the reply was ended as if the message were whole");
            received += line.Length + 2;
        }
        Assert.True(received <= message.Length / 2, $"{received} octets of a file cut to {message.Length / 2}");
        Assert.Contains(logs.Lines, l => l.Contains("cut short", StringComparison.Ordinal));
        Assert.Contains(logs.Lines, l => l.Contains("message changed on disk", StringComparison.Ordinal));
    }

    /// <summary>
    /// Cuts the message file to about half its length, at a line end, once RETR has opened (and checked) it: a "." sent
    /// after it would look to the client like the end of a whole message.
    /// </summary>
    [System.Runtime.Versioning.UnsupportedOSPlatform("windows")]
    private sealed class TruncateOnRetrieve : IPop3SessionHooks
    {
        private const int HeaderLength = 17;   // "Subject: wire\r\n\r\n"

        public string File { get; set; } = "";

        public Stream OnRetrieve(Pop3Session session, int messageNumber, Stream message)
        {
            // The delivery made it 0400; we own it, so we may make it writable for the cut and read-only again.
            System.IO.File.SetUnixFileMode(File, UnixFileMode.UserRead | UnixFileMode.UserWrite);
            using (var file = new FileStream(File, FileMode.Open, FileAccess.Write))
                file.SetLength(HeaderLength + (file.Length / 2 - HeaderLength) / 64 * 64);   // WireMessage's 64-octet lines
            System.IO.File.SetUnixFileMode(File, UnixFileMode.UserRead);
            return message;
        }
    }

    [Fact]
    public async Task A_slow_but_steady_reader_gets_a_wire_form_message_that_takes_longer_than_one_write_timeout()
    {
        // The write timeout bounds each wait for room in the socket's buffer, not the whole file: a 12 MB message read at
        // about 1 MB/s takes several write timeouts of 3 s and must still arrive whole. (3 s, not less: a client thread
        // starved for longer on a loaded machine is a stall the timeout is right to end.)
        await using var server = await TestServer.StartAsync(o => o.WriteTimeout = TimeSpan.FromSeconds(3));
        server.AddUser("alice", "secret");
        var message = WireMessage(12 * 1024 * 1024);
        await DeliverWireAsync(server, "alice", message);

        await using var c = await server.LoginAsync("alice", "secret");
        var watch = System.Diagnostics.Stopwatch.StartNew();
        await c.SendAsync("RETR 1");
        Assert.Equal($"+OK {message.Length} octets", await c.ReadLineAsync());
        var (octets, closed) = await c.ReadSlowlyAsync(64 * 1024, TimeSpan.FromMilliseconds(60), TimeSpan.FromSeconds(90));
        Assert.False(closed, $"the server hung up after {octets} of {message.Length} octets ({watch.Elapsed.TotalSeconds:F1} s)");
        Assert.Equal(message.Length + 3, octets);   // the message and ".\r\n"
        Assert.True(watch.Elapsed > TimeSpan.FromSeconds(6), $"read in {watch.Elapsed.TotalSeconds:F1} s: not slower than two write timeouts");
        await c.SendAsync("NOOP");
        await c.ExpectAsync("+OK");
        Assert.Equal(1, SendfileCount(server.Logs));
    }

    [Fact]
    public async Task A_client_that_stops_reading_mid_sendfile_times_out_and_gives_its_slot_back()
    {
        await using var server = await TestServer.StartAsync(o => o.WriteTimeout = TimeSpan.FromSeconds(1));
        server.Server.CommandDescriptors = new CommandDescriptorGate(1, server.Logs.CreateLogger("Restante.Networking"), TimeSpan.FromSeconds(1),
            server.Server.Metrics.DescriptorSlotRefused);
        server.AddUser("alice", "secret");
        server.AddUser("bob", "secret");
        // Far more than loopback's send and receive buffers together, so the send must wait for a reader that never comes.
        await DeliverWireAsync(server, "alice", WireMessage(24 * 1024 * 1024));
        await DeliverWireAsync(server, "bob", WireMessage(100));

        await using var a = await server.LoginAsync("alice", "secret");
        await a.SendAsync("RETR 1");
        await a.ExpectAsync("+OK");
        // The slot is held from before "+OK" was flushed; it must come back once the write timeout ends the session.
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(60);
        while (server.Server.CommandDescriptors.Free != 1)
        {
            Assert.True(DateTime.UtcNow < deadline, "the RETR still holds its descriptor slot");
            await Task.Delay(20);
        }
        Assert.True(await a.IsClosedAsync());
        Assert.Contains(server.Logs.Lines, l => l.Contains("timed out", StringComparison.Ordinal));

        await using var b = await server.LoginAsync("bob", "secret");
        await b.SendAsync("RETR 1");
        await b.ExpectAsync("+OK");
        Assert.Contains("Subject: wire", await b.ReadMultiLineAsync());
    }
}
