using System.Text;
using Restante.Protocol;
using Restante.Storage.Maildir;
using Restante.Tests.Infrastructure;
using Restante.Tests.Lmtp;

namespace Restante.Tests.Pop3;

/// <summary>
/// RETR and TOP byte for byte over real sockets, for the converting path (files as Postfix writes them, LF line ends)
/// and the sendfile path (files our own delivery stored in wire form), against a plain reference conversion.
/// </summary>
public class RetrBytesTests
{
    private const int ReadBuffer = Restante.Pop3.Commands.MessageSender.ChunkSize;   // the cases below straddle it

    /// <summary>Messages that have broken converters before; the key names the case in a failure.</summary>
    private static IEnumerable<(string Name, byte[] Stored)> TrickyMessages()
    {
        byte[] Latin1(string s) => Encoding.Latin1.GetBytes(s);
        yield return ("dot lines", Latin1("Subject: dots\n\n.\n..\n.hidden\nend\n.\n"));
        yield return ("bare CR", Latin1("Subject: cr\n\na\rb\r\nc\r\rd\n\r"));
        yield return ("CRLF and LF mixed", Latin1("Subject: mix\r\nX: y\n\r\nline1\r\nline2\n.line3\r\n"));
        yield return ("no final newline", Latin1("Subject: last\n\nno end"));
        yield return ("dot on the unterminated last line", Latin1("Subject: last\n\n.x"));
        yield return ("empty body", Latin1("Subject: empty\n\n"));
        yield return ("header only without newline", Latin1("Subject: nothing else"));
        yield return ("empty message", []);
        yield return ("8-bit body", Encoding.UTF8.GetBytes("Subject: x\n\nGrüße\n.ü\n"));
        var megabyte = new StringBuilder("Subject: 1 MB\n\n");
        for (var i = 0; megabyte.Length < 1024 * 1024; i++) megabyte.Append(i % 20 == 0 ? ".dot line " : "line ").Append(i).Append(" abcdefghijklmnopqrstuvwxyz0123456789\n");
        yield return ("1 MB", Latin1(megabyte.ToString()));
        yield return ("line longer than the read buffer", Latin1("Subject: long\n\n" + new string('x', ReadBuffer + 1000) + "\n.after\n"));
        // The read buffer ends right after an LF and the next chunk starts with '.'; and with a CR whose LF comes next.
        var head = "Subject: boundary\n\n";
        yield return ("dot at the read-buffer boundary", Latin1(head + new string('a', ReadBuffer - head.Length - 1) + "\n.next\nx\n"));
        yield return ("CRLF split at the read-buffer boundary", Latin1(head + new string('a', ReadBuffer - head.Length - 1) + "\r\n.next\r\n"));
        yield return ("bare LF at the read-buffer boundary", Latin1(head + new string('a', ReadBuffer - head.Length) + "\nnext\n"));
    }

    /// <summary>The RFC 1939 §3 reply body, written the slow and obvious way.</summary>
    private static byte[] Reference(byte[] stored)
    {
        var output = new List<byte>(stored.Length * 2 + 5);
        var atLineStart = true;
        for (var i = 0; i < stored.Length; i++)
        {
            var b = stored[i];
            if (atLineStart && b == '.') output.Add((byte)'.');
            if (b == '\n' && (i == 0 || stored[i - 1] != '\r')) output.Add((byte)'\r');
            output.Add(b);
            atLineStart = b == '\n';
        }
        if (!atLineStart) output.AddRange("\r\n"u8.ToArray());
        output.AddRange(".\r\n"u8.ToArray());
        return [.. output];
    }

    private static async Task<(string Status, byte[] Raw)> RetrRawAsync(Transcript c, string command)
    {
        await c.SendAsync(command);
        var status = (await c.ReadLineAsync())!;
        Assert.StartsWith("+OK", status, StringComparison.Ordinal);
        return (status, await c.ReadRawBodyAsync());
    }

    private static int SendfileCount(TestServer server) => server.Logs.Lines.Count(l => l.Contains("with sendfile", StringComparison.Ordinal));

    [Fact]
    public async Task Files_as_postfix_writes_them_are_converted_exactly()
    {
        await using var server = await TestServer.StartAsync();
        server.AddUser("alice", "secret");
        var cases = TrickyMessages().ToList();
        for (var i = 0; i < cases.Count; i++) server.Deliver("alice", cases[i].Stored, 1_700_000_000 + i);
        await using var c = await server.LoginAsync("alice", "secret");
        for (var i = 0; i < cases.Count; i++)
        {
            var (name, stored) = cases[i];
            await c.SendAsync($"LIST {i + 1}");
            Assert.Equal($"+OK {i + 1} {MessageOctets.Count(stored)}", await c.ReadLineAsync());
            var (status, raw) = await RetrRawAsync(c, $"RETR {i + 1}");
            Assert.True(Reference(stored).AsSpan().SequenceEqual(raw), name);
            Assert.Equal($"+OK {MessageOctets.Count(stored)} octets", status);
        }
        Assert.Equal(0, SendfileCount(server));
    }

    /// <summary>A Postfix-style message (LF ends, some dot lines) of about <paramref name="bodyLines"/> body lines.</summary>
    private static byte[] LfMessage(int bodyLines)
    {
        var text = new StringBuilder("Subject: big\nX-Long: yes\n\n");
        for (var i = 0; i < bodyLines; i++) text.Append(i % 7 == 0 ? ".line " : "line ").Append(i).Append(" the quick brown fox jumps over the lazy dog\n");
        return Encoding.Latin1.GetBytes(text.ToString());
    }

    /// <summary>What TOP n must send: the header, the blank line and n body lines of <paramref name="stored"/> (RFC 1939 §7).</summary>
    private static byte[] TopReference(byte[] stored, int n)
    {
        var text = Encoding.Latin1.GetString(stored);
        var bodyStart = text.IndexOf("\n\n", StringComparison.Ordinal) + 2;
        var end = bodyStart;
        for (var i = 0; i < n && end < text.Length; i++) end = text.IndexOf('\n', end) + 1;
        return Reference(Encoding.Latin1.GetBytes(text[..end]));
    }

    [Fact]
    public async Task Top_of_a_message_larger_than_a_chunk_stops_after_n_lines_in_any_chunk()
    {
        await using var server = await TestServer.StartAsync();
        server.AddUser("alice", "secret");
        var stored = LfMessage(30_000);   // ~1.6 MB: the line limit falls in the first, a middle and the last chunk
        Assert.True(stored.Length > 5 * ReadBuffer);
        server.Deliver("alice", stored, 1_700_000_000);
        await using var c = await server.LoginAsync("alice", "secret");
        foreach (var n in (int[])[0, 1, 5, 6_000, 20_000, 29_999, 30_000, 1_000_000])
        {
            var (status, raw) = await RetrRawAsync(c, $"TOP 1 {n}");
            Assert.Equal("+OK Top of message follows", status);
            Assert.True(TopReference(stored, n).AsSpan().SequenceEqual(raw), $"TOP 1 {n}");
        }
        // And RETR after all those TOPs is the whole message.
        var (_, whole) = await RetrRawAsync(c, "RETR 1");
        Assert.True(Reference(stored).AsSpan().SequenceEqual(whole));
    }

    [Fact]
    public async Task Pipelined_commands_around_converted_retrs_keep_their_order()
    {
        await using var server = await TestServer.StartAsync();
        server.AddUser("alice", "secret");
        var small = Encoding.Latin1.GetBytes("Subject: s\n\n.dot\nbody\n");
        var large = LfMessage(20_000);   // several chunks
        server.Deliver("alice", small, 1_700_000_000);
        server.Deliver("alice", large, 1_700_000_001);
        await using var c = await server.LoginAsync("alice", "secret");
        // Replies to NOOP and LIST sit in the writer when RETR starts; RETR's +OK, body and "." must follow them, whole.
        await c.SendRawAsync("NOOP\r\nRETR 1\r\nRETR 2\r\nNOOP\r\nTOP 2 3\r\nLIST 1\r\nRETR 1\r\nSTAT\r\n"u8.ToArray());
        await c.ExpectAsync("+OK");
        Assert.Equal($"+OK {MessageOctets.Count(small)} octets", await c.ReadLineAsync());
        Assert.Equal(Reference(small), await c.ReadRawBodyAsync());
        Assert.Equal($"+OK {MessageOctets.Count(large)} octets", await c.ReadLineAsync());
        Assert.Equal(Reference(large), await c.ReadRawBodyAsync());
        await c.ExpectAsync("+OK");
        await c.ExpectAsync("+OK");
        Assert.Equal(TopReference(large, 3), await c.ReadRawBodyAsync());
        Assert.Equal($"+OK 1 {MessageOctets.Count(small)}", await c.ReadLineAsync());
        await c.ExpectAsync("+OK");
        Assert.Equal(Reference(small), await c.ReadRawBodyAsync());
        Assert.Equal($"+OK 2 {MessageOctets.Count(small) + MessageOctets.Count(large)}", await c.ReadLineAsync());
    }

    /// <summary>Messages whose end falls exactly on, just before and just after a chunk boundary: the final "." goes with the last chunk, or alone.</summary>
    [Fact]
    public async Task Messages_ending_at_a_chunk_boundary_are_sent_whole()
    {
        await using var server = await TestServer.StartAsync();
        server.AddUser("alice", "secret");
        var head = "Subject: edge\n\n";
        var lengths = new[] { ReadBuffer - 1, ReadBuffer, ReadBuffer + 1, 2 * ReadBuffer, 2 * ReadBuffer + 1 };
        var cases = new List<byte[]>();
        foreach (var length in lengths)
        {
            // Lines of 64 octets, LF-ended; the last line ends exactly at the message's end, or has no line end.
            var body = new StringBuilder(head);
            while (body.Length < length) body.Append(body.Length % 640 == 0 ? '.' : 'x').Append(body.Length % 64 == 63 ? "\n" : "");
            body.Length = length;
            cases.Add(Encoding.Latin1.GetBytes(body.ToString()));
            body[^1] = '\n';
            cases.Add(Encoding.Latin1.GetBytes(body.ToString()));
        }
        for (var i = 0; i < cases.Count; i++) server.Deliver("alice", cases[i], 1_700_000_000 + i);
        await using var c = await server.LoginAsync("alice", "secret");
        for (var i = 0; i < cases.Count; i++)
        {
            var (status, raw) = await RetrRawAsync(c, $"RETR {i + 1}");
            Assert.Equal($"+OK {MessageOctets.Count(cases[i])} octets", status);
            Assert.True(Reference(cases[i]).AsSpan().SequenceEqual(raw), $"case {i}: {cases[i].Length} octets");
        }
        await c.SendAsync("NOOP");
        await c.ExpectAsync("+OK");
    }

    [Fact]
    public async Task Delivered_messages_are_stored_crlf_and_retr_sends_the_same_bytes_and_sizes_as_before()
    {
        await using var server = await TestServer.StartAsync();
        server.AddUser("alice", "secret");
        var store = new MaildirStore(Path.Combine(server.Data.Path, "mail", "%u"));
        var cases = TrickyMessages().ToList();
        foreach (var (_, stored) in cases) await store.DeliverAsync("alice", new MemoryStream(stored), CancellationToken.None);

        // What was stored: CRLF line ends, S = W = the POP3 size of the original; P only where the file is in wire form.
        var files = server.MessageFiles("alice").OrderBy(f => f, StringComparer.Ordinal).ToList();
        Assert.Equal(cases.Count, files.Count);
        var wireForm = 0;
        await using var c = await server.LoginAsync("alice", "secret");
        for (var i = 0; i < cases.Count; i++)
        {
            var (name, stored) = cases[i];
            var size = MessageOctets.Count(stored);
            var file = files[i];
            Assert.Contains($",S={size},W={size}", Path.GetFileName(file), StringComparison.Ordinal);
            var onDisk = await File.ReadAllBytesAsync(file);
            Assert.Equal(size, onDisk.Length);
            Assert.True(Reference(stored).AsSpan().SequenceEqual(Reference(onDisk)), name);   // same message
            if (Path.GetFileName(file).Contains(",P=", StringComparison.Ordinal))
            {
                // What marks a file: sending it as it is gives exactly what the conversion gives.
                wireForm++;
                Assert.True(Reference(onDisk).AsSpan().SequenceEqual([.. onDisk, .. ".\r\n"u8]), $"{name}: marked wire form but is not");
            }

            await c.SendAsync($"LIST {i + 1}");
            Assert.Equal($"+OK {i + 1} {size}", await c.ReadLineAsync());
            var (status, raw) = await RetrRawAsync(c, $"RETR {i + 1}");
            Assert.True(Reference(stored).AsSpan().SequenceEqual(raw), name);
            Assert.Equal($"+OK {size} octets", status);
        }
        // The cases without dot lines, bare CR or an 8-bit header are wire form once stored.
        Assert.True(wireForm >= 3, $"only {wireForm} files in wire form");
        Assert.Equal(wireForm, SendfileCount(server));
    }

    private static bool HasBareLf(byte[] data)
    {
        for (var i = 0; i < data.Length; i++)
            if (data[i] == '\n' && (i == 0 || data[i - 1] != '\r')) return true;
        return false;
    }

    [Fact]
    public async Task Top_of_a_wire_form_file_is_the_header_and_n_lines()
    {
        await using var server = await TestServer.StartAsync();
        server.AddUser("alice", "secret");
        var store = new MaildirStore(Path.Combine(server.Data.Path, "mail", "%u"));
        await store.DeliverAsync("alice", new MemoryStream("Subject: top\n\none\ntwo\nthree\n"u8.ToArray()), CancellationToken.None);
        Assert.Contains(",P=", Path.GetFileName(Assert.Single(server.MessageFiles("alice"))), StringComparison.Ordinal);
        await using var c = await server.LoginAsync("alice", "secret");
        var (_, raw) = await RetrRawAsync(c, "TOP 1 2");
        Assert.Equal("Subject: top\r\n\r\none\r\ntwo\r\n.\r\n", Encoding.Latin1.GetString(raw));
        var (_, whole) = await RetrRawAsync(c, "RETR 1");
        Assert.Equal("Subject: top\r\n\r\none\r\ntwo\r\nthree\r\n.\r\n", Encoding.Latin1.GetString(whole));
        Assert.Equal(1, SendfileCount(server));
    }

    [Fact]
    public async Task Pipelined_commands_around_a_sendfile_retr_keep_their_order()
    {
        await using var server = await TestServer.StartAsync();
        server.AddUser("alice", "secret");
        var store = new MaildirStore(Path.Combine(server.Data.Path, "mail", "%u"));
        await store.DeliverAsync("alice", new MemoryStream("Subject: p\n\nbody\n"u8.ToArray()), CancellationToken.None);
        await using var c = await server.LoginAsync("alice", "secret");
        await c.SendRawAsync("NOOP\r\nRETR 1\r\nNOOP\r\nRETR 1\r\nSTAT\r\n"u8.ToArray());
        await c.ExpectAsync("+OK");
        var (_, first) = await RetrRawAsync2(c);
        await c.ExpectAsync("+OK");
        var (_, second) = await RetrRawAsync2(c);
        Assert.Equal("+OK 1 20", await c.ReadLineAsync());
        Assert.Equal("Subject: p\r\n\r\nbody\r\n.\r\n", Encoding.Latin1.GetString(first));
        Assert.Equal(first, second);
        Assert.Equal(2, SendfileCount(server));

        static async Task<(string, byte[])> RetrRawAsync2(Transcript c)
        {
            var status = (await c.ReadLineAsync())!;
            Assert.StartsWith("+OK", status, StringComparison.Ordinal);
            return (status, await c.ReadRawBodyAsync());
        }
    }

    [Fact]
    public async Task A_message_delivered_by_lmtp_is_stored_in_wire_form_and_sent_as_stored()
    {
        await using var server = await TestServer.StartAsync();
        server.AddUser("alice", "secret");
        var (lmtp, _) = await Lmtp.Lmtp.GreetAsync(server);
        await using (lmtp)
        {
            await Lmtp.Lmtp.SendMessageAsync(lmtp, "s@example.org", "Subject: via lmtp\r\n\r\nhello\r\nworld\r\n", "alice");
            await lmtp.ExpectAsync("250 2.0.0");
            await Lmtp.Lmtp.SendMessageAsync(lmtp, "s@example.org", "Subject: dots\r\n\r\n.hello\r\n", "alice");
            await lmtp.ExpectAsync("250 2.0.0");
        }
        var files = server.MessageFiles("alice").OrderBy(f => f, StringComparer.Ordinal).ToList();
        Assert.Equal(2, files.Count);
        Assert.Contains(",P=", Path.GetFileName(files[0]), StringComparison.Ordinal);
        Assert.DoesNotContain(",P=", Path.GetFileName(files[1]), StringComparison.Ordinal);   // a dot line needs stuffing
        await using var c = await server.LoginAsync("alice", "secret");
        for (var i = 0; i < 2; i++)
        {
            var onDisk = await File.ReadAllBytesAsync(files[i]);
            Assert.False(HasBareLf(onDisk));
            var (status, raw) = await RetrRawAsync(c, $"RETR {i + 1}");
            Assert.Equal($"+OK {onDisk.Length} octets", status);
            Assert.True(Reference(onDisk).AsSpan().SequenceEqual(raw));
        }
        Assert.Equal(1, SendfileCount(server));
    }

    [Fact]
    public async Task Over_tls_a_wire_form_file_is_copied_not_sent_with_sendfile_and_the_bytes_are_the_same()
    {
        await using var server = await TestServer.StartAsync(configureServer: o => o.Pop3s = ["127.0.0.1:0"]);
        server.AddUser("alice", "secret");
        var store = new MaildirStore(Path.Combine(server.Data.Path, "mail", "%u"));
        var cases = TrickyMessages().ToList();
        foreach (var (_, stored) in cases) await store.DeliverAsync("alice", new MemoryStream(stored), CancellationToken.None);
        Assert.Contains(server.MessageFiles("alice"), f => Path.GetFileName(f).Contains(",P=", StringComparison.Ordinal));
        await using var c = await server.ConnectAsync();
        await c.ExpectAsync("+OK");
        await c.SendAsync("STLS");
        await c.ExpectAsync("+OK");
        await c.StartTlsAsync(server.TrustServerCertificate);
        await c.SendAsync("USER alice");
        await c.ExpectAsync("+OK");
        await c.SendAsync("PASS secret");
        await c.ExpectAsync("+OK");
        for (var i = 0; i < cases.Count; i++)
        {
            var (_, raw) = await RetrRawAsync(c, $"RETR {i + 1}");
            Assert.True(Reference(cases[i].Stored).AsSpan().SequenceEqual(raw), cases[i].Name);
        }
        Assert.Equal(0, SendfileCount(server));
    }

    /// <summary>
    /// A user who can write to the Maildir names a file of their own as if our delivery had marked it. Inside is a line
    /// holding only "." and after it what looks like server replies: sent raw, the reply would end early and the client
    /// would read the rest as answers to its next commands. Whatever the name says, it must go through the converter.
    /// </summary>
    [RootFact("needs root to give a file another owner")]
    [System.Runtime.Versioning.SupportedOSPlatform("linux")]
    public async Task A_file_renamed_to_carry_the_wire_form_mark_is_never_sent_raw()
    {
        await using var server = await TestServer.StartAsync();
        server.AddUser("alice", "secret");
        var hostile = Encoding.ASCII.GetBytes("Subject: hi\r\n\r\nfirst\r\n.\r\n+OK 0 octets\r\n.\r\n");
        var size = hostile.Length;
        var newDir = Path.Combine(server.MaildirOf("alice"), "new");
        Directory.CreateDirectory(Path.Combine(server.MaildirOf("alice"), "cur"));
        Directory.CreateDirectory(Path.Combine(server.MaildirOf("alice"), "tmp"));
        Directory.CreateDirectory(newDir);
        // 1: the user's own file, mode 0400, size right: only the owner tells it apart.
        var own = Path.Combine(newDir, $"1700000001.M1P1Q1.host,S={size},W={size},P={size}");
        await File.WriteAllBytesAsync(own, hostile);
        File.SetUnixFileMode(own, UnixFileMode.UserRead);
        ChangeOwner(own, 65534);
        // 2: owned by the server's account, but group-writable.
        var shared = Path.Combine(newDir, $"1700000002.M1P1Q1.host,S={size},W={size},P={size}");
        await File.WriteAllBytesAsync(shared, hostile);
        File.SetUnixFileMode(shared, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.GroupRead | UnixFileMode.GroupWrite);
        // 3: owned by the server's account, mode 0400, but the mark's size is not the file's.
        var resized = Path.Combine(newDir, $"1700000003.M1P1Q1.host,S={size - 2},W={size - 2},P={size - 2}");
        await File.WriteAllBytesAsync(resized, hostile);
        File.SetUnixFileMode(resized, UnixFileMode.UserRead);
        // 4: what any other delivery looks like (the server's, 0600, S and W right), renamed to carry the mark: only the
        // mode, which the user cannot change on the server's file, tells it apart.
        var renamed = Path.Combine(newDir, $"1700000004.M1P1Q1.host,S={size},W={size},P={size}");
        await File.WriteAllBytesAsync(renamed, hostile);
        File.SetUnixFileMode(renamed, UnixFileMode.UserRead | UnixFileMode.UserWrite);

        await using var c = await server.LoginAsync("alice", "secret");
        for (var i = 1; i <= 4; i++)
        {
            var (_, raw) = await RetrRawAsync(c, $"RETR {i}");
            Assert.Equal("Subject: hi\r\n\r\nfirst\r\n..\r\n+OK 0 octets\r\n..\r\n.\r\n", Encoding.ASCII.GetString(raw));
        }
        Assert.Equal(0, SendfileCount(server));
    }

    private static void ChangeOwner(string path, int uid)
    {
        if (Chown(path, uid, -1) != 0) throw new IOException($"chown {path}: errno {System.Runtime.InteropServices.Marshal.GetLastPInvokeError()}");
    }

    [System.Runtime.InteropServices.DllImport("libc", EntryPoint = "chown", SetLastError = true)]
    private static extern int Chown([System.Runtime.InteropServices.MarshalAs(System.Runtime.InteropServices.UnmanagedType.LPUTF8Str)] string path, int owner, int group);
}

/// <summary>A fact that needs root (chown to another user); otherwise the runner reports it skipped, with the reason.</summary>
public sealed class RootFactAttribute : FactAttribute
{
    public RootFactAttribute(string reason)
    {
        if (!OperatingSystem.IsLinux() || Environment.UserName != "root") Skip = reason;
    }
}
