using System.Diagnostics;
using System.Text;
using System.Text.RegularExpressions;
using Restante.Pop3;
using Restante.Tests.Infrastructure;

namespace Restante.Tests.Pop3;

public class SessionTests
{
    private const string First = "From: a@example.com\nSubject: one\n\nHello\n.dotted line\n..two dots\nbye";
    private const string Second = "Subject: two\r\n\r\nbody\r\n";

    private static async Task<TestServer> ServerWithMailAsync()
    {
        var server = await TestServer.StartAsync();
        server.AddUser("alice", "secret");
        server.Deliver("alice", First, 1_700_000_000);
        server.Deliver("alice", Second, 1_700_000_100);
        return server;
    }

    [Fact]
    public async Task Greeting_carries_a_timestamp_unique_to_each_connection()
    {
        await using var server = await TestServer.StartAsync(o => o.Apop = ApopMode.On);
        var stamps = new HashSet<string>();
        for (var i = 0; i < 5; i++)
        {
            await using var c = await server.ConnectAsync();
            var greeting = await c.ExpectAsync("+OK ");
            var match = Regex.Match(greeting, "<[^<>@ ]+@test\\.example>$");
            Assert.True(match.Success, greeting);
            Assert.True(stamps.Add(match.Value));
        }
    }

    [Fact]
    public async Task Stat_list_and_uidl_are_exact()
    {
        await using var server = await ServerWithMailAsync();
        await using var c = await server.LoginAsync("alice", "secret");
        var firstSize = First.Replace("\n", "\r\n").Length + 2;  // CRLF conversion plus the missing last line end
        var secondSize = Second.Length;

        await c.SendAsync("STAT");
        Assert.Equal($"+OK 2 {firstSize + secondSize}", await c.ReadLineAsync());
        await c.SendAsync("LIST");
        await c.ExpectAsync("+OK");
        Assert.Equal(new[] { $"1 {firstSize}", $"2 {secondSize}" }, await c.ReadMultiLineAsync());
        await c.SendAsync("LIST 2");
        Assert.Equal($"+OK 2 {secondSize}", await c.ReadLineAsync());
        await c.SendAsync("UIDL");
        await c.ExpectAsync("+OK");
        var uidls = await c.ReadMultiLineAsync();
        Assert.Equal(2, uidls.Count);
        Assert.All(uidls, l => Assert.Matches("^[12] [\\x21-\\x7E]{1,70}$", l));
        await c.SendAsync("UIDL 1");
        Assert.Equal("+OK " + uidls[0], await c.ReadLineAsync());
    }

    [Fact]
    public async Task Retr_sends_crlf_dot_stuffed_bytes_and_size_matches()
    {
        await using var server = await ServerWithMailAsync();
        await using var c = await server.LoginAsync("alice", "secret");
        await c.SendAsync("RETR 1");
        var status = await c.ExpectAsync("+OK ");
        var body = await c.ReadRawBodyAsync();
        var expected = "From: a@example.com\r\nSubject: one\r\n\r\nHello\r\n..dotted line\r\n...two dots\r\nbye\r\n.\r\n";
        Assert.Equal(expected, Encoding.Latin1.GetString(body));
        var unstuffedLength = First.Replace("\n", "\r\n").Length + 2;
        Assert.Equal($"+OK {unstuffedLength} octets", status);
    }

    [Fact]
    public async Task Top_sends_header_and_n_lines()
    {
        await using var server = await ServerWithMailAsync();
        await using var c = await server.LoginAsync("alice", "secret");
        await c.SendAsync("TOP 1 2");
        await c.ExpectAsync("+OK");
        Assert.Equal(new[] { "From: a@example.com", "Subject: one", "", "Hello", "..dotted line" }, await c.ReadMultiLineAsync());
        await c.SendAsync("TOP 2 0");
        await c.ExpectAsync("+OK");
        Assert.Equal(new[] { "Subject: two", "" }, await c.ReadMultiLineAsync());
        await c.SendAsync("TOP 2");
        await c.ExpectAsync("-ERR");
        await c.SendAsync("TOP 2 x");
        await c.ExpectAsync("-ERR");
    }

    [Fact]
    public async Task Dele_marks_rset_unmarks_and_only_quit_removes()
    {
        await using var server = await ServerWithMailAsync();
        await using (var c = await server.LoginAsync("alice", "secret"))
        {
            await c.SendAsync("DELE 1");
            Assert.Equal("+OK Marked to be deleted.", await c.ReadLineAsync());
            await c.SendAsync("RETR 1");
            Assert.Equal("-ERR Message is deleted.", await c.ReadLineAsync());
            await c.SendAsync("DELE 1");
            Assert.Equal("-ERR Message is deleted.", await c.ReadLineAsync());
            await c.SendAsync("STAT");
            Assert.Equal($"+OK 1 {Second.Length}", await c.ReadLineAsync());
            await c.SendAsync("LIST");
            await c.ExpectAsync("+OK");
            Assert.Equal(new[] { $"2 {Second.Length}" }, await c.ReadMultiLineAsync());
            await c.SendAsync("RSET");
            await c.ExpectAsync("+OK");
            await c.SendAsync("STAT");
            await c.ExpectAsync("+OK 2 ");
            await c.SendAsync("DELE 2");
            await c.ExpectAsync("+OK");
            Assert.Equal(2, server.MessageFiles("alice").Count);
            await c.SendAsync("QUIT");
            await c.ExpectAsync("+OK");
            Assert.True(await c.IsClosedAsync());
        }

        var left = server.MessageFiles("alice");
        Assert.Single(left);
        Assert.Equal(First, File.ReadAllText(left[0]));
    }

    [Fact]
    public async Task A_dropped_connection_deletes_nothing()
    {
        await using var server = await ServerWithMailAsync();
        var c = await server.LoginAsync("alice", "secret");
        await c.SendAsync("DELE 1");
        await c.ExpectAsync("+OK");
        await c.SendAsync("DELE 2");
        await c.ExpectAsync("+OK");
        c.Abort();

        // The lock is released once the server notices; then the mailbox is whole.
        await using var again = await LoginEventuallyAsync(server, "alice", "secret");
        await again.SendAsync("STAT");
        await again.ExpectAsync("+OK 2 ");
        Assert.Equal(2, server.MessageFiles("alice").Count);
    }

    internal static async Task<Transcript> LoginEventuallyAsync(TestServer server, string user, string password)
    {
        var deadline = Stopwatch.StartNew();
        while (true)
        {
            var c = await server.ConnectAsync();
            await c.ExpectAsync("+OK");
            await c.SendAsync($"USER {user}");
            await c.ExpectAsync("+OK");
            await c.SendAsync($"PASS {password}");
            var reply = await c.ReadLineAsync();
            if (reply!.StartsWith("+OK", StringComparison.Ordinal)) return c;
            Assert.StartsWith("-ERR [IN-USE]", reply, StringComparison.Ordinal);
            await c.DisposeAsync();
            Assert.True(deadline.Elapsed < TimeSpan.FromSeconds(10), "mailbox stayed locked");
            await Task.Delay(50);
        }
    }

    [Fact]
    public async Task Second_login_gets_in_use_and_the_first_session_is_unaffected()
    {
        await using var server = await ServerWithMailAsync();
        await using var first = await server.LoginAsync("alice", "secret");
        await using var second = await server.ConnectAsync();
        await second.ExpectAsync("+OK");
        await second.SendAsync("USER alice");
        await second.ExpectAsync("+OK");
        await second.SendAsync("PASS secret");
        Assert.Equal("-ERR [IN-USE] Mailbox is locked by another POP3 session.", await second.ReadLineAsync());
        // Still in AUTHORIZATION, still connected.
        await second.SendAsync("STAT");
        await second.ExpectAsync("-ERR");

        await first.SendAsync("STAT");
        await first.ExpectAsync("+OK 2 ");
        await first.SendAsync("QUIT");
        await first.ExpectAsync("+OK");
        Assert.True(await first.IsClosedAsync());

        await using var third = await LoginEventuallyAsync(server, "alice", "secret");
    }

    [Fact]
    public async Task Snapshot_hides_mail_delivered_during_the_session()
    {
        await using var server = await ServerWithMailAsync();
        await using (var c = await server.LoginAsync("alice", "secret"))
        {
            server.Deliver("alice", "Subject: late\n\nlate\n");
            await c.SendAsync("STAT");
            await c.ExpectAsync("+OK 2 ");
            await c.SendAsync("LIST 3");
            Assert.Equal("-ERR There's no message 3.", await c.ReadLineAsync());
            await c.SendAsync("DELE 1");
            await c.ExpectAsync("+OK");
            await c.SendAsync("QUIT");
            await c.ExpectAsync("+OK");
        }
        await using var next = await LoginEventuallyAsync(server, "alice", "secret");
        await next.SendAsync("STAT");
        await next.ExpectAsync("+OK 2 ");
        await next.SendAsync("TOP 2 0");
        await next.ExpectAsync("+OK");
        Assert.Equal(new[] { "Subject: late", "" }, await next.ReadMultiLineAsync());
    }

    [Fact]
    public async Task Pipelined_commands_get_their_replies_in_order()
    {
        await using var server = await ServerWithMailAsync();
        await using var c = await server.ConnectAsync();
        await c.ExpectAsync("+OK");
        await c.SendRawAsync(Encoding.ASCII.GetBytes("CAPA\r\nUSER alice\r\nPASS secret\r\nSTAT\r\nLIST 1\r\nUIDL 2\r\nNOOP\r\nRETR 2\r\nBOGUS\r\nQUIT\r\n"));
        await c.ExpectAsync("+OK");
        Assert.Contains("PIPELINING", await c.ReadMultiLineAsync());
        await c.ExpectAsync("+OK");
        await c.ExpectAsync("+OK Logged in");
        await c.ExpectAsync("+OK 2 ");
        await c.ExpectAsync("+OK 1 ");
        await c.ExpectAsync("+OK 2 ");
        Assert.Equal("+OK", await c.ReadLineAsync());
        await c.ExpectAsync("+OK");
        Assert.Equal(new[] { "Subject: two", "", "body" }, await c.ReadMultiLineAsync());
        await c.ExpectAsync("-ERR Unknown command");
        await c.ExpectAsync("+OK");
        Assert.True(await c.IsClosedAsync());
    }

    [Fact]
    public async Task Capa_is_the_same_before_and_after_login()
    {
        await using var server = await ServerWithMailAsync();
        await using var c = await server.ConnectAsync();
        await c.ExpectAsync("+OK");
        await c.SendAsync("CAPA");
        await c.ExpectAsync("+OK");
        var before = await c.ReadMultiLineAsync();
        foreach (var capability in new[] { "TOP", "UIDL", "USER", "RESP-CODES", "AUTH-RESP-CODE", "PIPELINING" })
            Assert.Contains(capability, before);
        Assert.Contains(before, l => l.StartsWith("IMPLEMENTATION Restante", StringComparison.Ordinal));
        await c.SendAsync("USER alice");
        await c.ExpectAsync("+OK");
        await c.SendAsync("PASS secret");
        await c.ExpectAsync("+OK");
        await c.SendAsync("capa");
        await c.ExpectAsync("+OK");
        // Except STLS: RFC 2595 §8 announces it in AUTHORIZATION only (see Capabilities).
        Assert.Contains("STLS", before);
        Assert.Equal(before.Where(l => l != "STLS"), await c.ReadMultiLineAsync());
    }

    [Fact]
    public async Task Unknown_user_and_wrong_password_look_the_same_and_are_delayed()
    {
        await using var server = await TestServer.StartAsync(o => o.AuthFailureDelay = TimeSpan.FromMilliseconds(400));
        server.AddUser("alice", "secret");
        await using var c = await server.ConnectAsync();
        await c.ExpectAsync("+OK");

        var replies = new List<string>();
        foreach (var (user, password) in new[] { ("alice", "wrong"), ("nobody", "secret") })
        {
            await c.SendAsync($"USER {user}");
            Assert.Equal("+OK Send your password.", await c.ReadLineAsync());
            var watch = Stopwatch.StartNew();
            await c.SendAsync($"PASS {password}");
            replies.Add((await c.ReadLineAsync())!);
            Assert.True(watch.Elapsed >= TimeSpan.FromMilliseconds(380), $"answered after {watch.Elapsed}");
        }
        Assert.Equal("-ERR [AUTH] Authentication failed.", replies[0]);
        Assert.Equal(replies[0], replies[1]);
    }

    [Fact]
    public async Task Password_may_contain_spaces()
    {
        await using var server = await TestServer.StartAsync();
        server.AddUser("bob", "correct horse battery staple");
        await using var c = await server.LoginAsync("bob", "correct horse battery staple");
        await c.SendAsync("STAT");
        Assert.Equal("+OK 0 0", await c.ReadLineAsync());
    }

    [Theory]
    [InlineData("STAT", "-ERR Command not valid before login.")]
    [InlineData("PASS x", "-ERR Send USER first.")]
    [InlineData("FOO", "-ERR Unknown command.")]
    [InlineData("", "-ERR Empty command.")]
    [InlineData("USER", "-ERR USER needs a user name.")]
    public async Task Errors_before_login_are_one_line_and_the_session_lives_on(string command, string reply)
    {
        await using var server = await TestServer.StartAsync();
        await using var c = await server.ConnectAsync();
        await c.ExpectAsync("+OK");
        await c.SendAsync(command);
        Assert.Equal(reply, await c.ReadLineAsync());
        await c.SendAsync("NOOP");
        Assert.Equal("-ERR Command not valid before login.", await c.ReadLineAsync());
        await c.SendAsync("CAPA");
        await c.ExpectAsync("+OK");
    }

    [Theory]
    [InlineData("RETR", "-ERR Missing message number.")]
    [InlineData("RETR 0", "-ERR There's no message 0.")]
    [InlineData("RETR 3", "-ERR There's no message 3.")]
    [InlineData("RETR x", "-ERR Invalid message number: x")]
    [InlineData("RETR 1 2", "-ERR Noise after message number: 2")]
    [InlineData("LIST 99999999999", "-ERR Invalid message number: 99999999999")]
    [InlineData("DELE -1", "-ERR Invalid message number: -1")]
    [InlineData("USER bob", "-ERR Command not valid after login.")]
    [InlineData("STAT 1", "-ERR STAT takes no arguments.")]
    [InlineData("UIDL 1 1", "-ERR Noise after message number: 1")]
    [InlineData("RETR 12345678901234567890123456789012345678901", "-ERR Argument too long.")]
    public async Task Errors_after_login_are_one_line_and_the_session_lives_on(string command, string reply)
    {
        await using var server = await ServerWithMailAsync();
        await using var c = await server.LoginAsync("alice", "secret");
        await c.SendAsync(command);
        Assert.Equal(reply, await c.ReadLineAsync());
        await c.SendAsync("STAT");
        await c.ExpectAsync("+OK 2 ");
    }

    [Fact]
    public async Task Overlong_lines_get_an_error_and_the_session_goes_on()
    {
        await using var server = await ServerWithMailAsync();
        await using var c = await server.LoginAsync("alice", "secret");
        await c.SendAsync("LIST " + new string('1', 300));
        Assert.Equal("-ERR Line too long.", await c.ReadLineAsync());
        // Far past the longest line read at all: answered once, skipped to its end.
        await c.SendRawAsync(Encoding.ASCII.GetBytes(new string('A', 100_000) + "\r\nSTAT\r\n"));
        Assert.Equal("-ERR Line too long.", await c.ReadLineAsync());
        await c.ExpectAsync("+OK 2 ");
    }

    [Fact]
    public async Task Nul_bytes_and_invalid_utf8_never_break_the_session()
    {
        await using var server = await ServerWithMailAsync();
        await using var c = await server.ConnectAsync();
        await c.ExpectAsync("+OK");
        await c.SendRawAsync([0, 0, 0, (byte)'\r', (byte)'\n']);
        await c.ExpectAsync("-ERR");
        await c.SendRawAsync([(byte)'U', (byte)'S', (byte)'E', (byte)'R', (byte)' ', 0xC3, 0x28, 0xFF, (byte)'\r', (byte)'\n']);
        await c.ExpectAsync("-ERR");
        await c.SendRawAsync([(byte)'P', (byte)'A', (byte)'S', (byte)'S', (byte)' ', 0xFF, 0, 0xFE, (byte)'\r', (byte)'\n']);
        await c.ExpectAsync("-ERR");
        await c.SendAsync("USER alice");
        await c.ExpectAsync("+OK");
        await c.SendAsync("PASS secret");
        await c.ExpectAsync("+OK");
        await c.SendRawAsync([(byte)'R', (byte)'E', (byte)'T', (byte)'R', (byte)' ', 0, 0xFF, (byte)'\r', (byte)'\n']);
        Assert.Equal("-ERR Invalid message number: ??", await c.ReadLineAsync());
    }

    [Fact]
    public async Task Ten_errors_in_a_row_end_the_session_without_deleting()
    {
        await using var server = await ServerWithMailAsync();
        await using (var c = await server.LoginAsync("alice", "secret"))
        {
            await c.SendAsync("DELE 1");
            await c.ExpectAsync("+OK");
            for (var i = 0; i < 9; i++)
            {
                await c.SendAsync("JUNK");
                await c.ExpectAsync("-ERR Unknown command");
            }
            await c.SendAsync("NOOP");
            await c.ExpectAsync("+OK");   // a good command resets the count
            for (var i = 0; i < 10; i++)
            {
                await c.SendAsync("JUNK");
                await c.ExpectAsync("-ERR Unknown command");
            }
            Assert.Equal("-ERR Too many bad commands, closing connection.", await c.ReadLineAsync());
            Assert.True(await c.IsClosedAsync());
        }
        Assert.Equal(2, server.MessageFiles("alice").Count);
    }

    [Fact]
    public async Task Quit_before_login_says_goodbye()
    {
        await using var server = await TestServer.StartAsync();
        await using var c = await server.ConnectAsync();
        await c.ExpectAsync("+OK");
        await c.SendAsync("quit");
        await c.ExpectAsync("+OK");
        Assert.True(await c.IsClosedAsync());
    }

    [Fact]
    public async Task Secrets_never_reach_the_log()
    {
        await using var server = await ServerWithMailAsync();
        await using (var c = await server.LoginAsync("alice", "secret"))
        {
            await c.SendAsync("PASS hunter2-should-not-appear");
            await c.ExpectAsync("-ERR");
            await c.SendAsync("QUIT");
            await c.ExpectAsync("+OK");
        }
        await using (var c = await server.ConnectAsync())
        {
            await c.ExpectAsync("+OK");
            await c.SendAsync("USER alice");
            await c.ExpectAsync("+OK");
            await c.SendAsync("PASS wrong-password-xyz");
            await c.ExpectAsync("-ERR");
            await c.SendAsync("APOP alice 0123456789abcdef0123456789abcdef");
            await c.ExpectAsync("-ERR");
        }
        await Task.Delay(100);
        var log = string.Join("\n", server.Logs.Lines);
        Assert.Contains("PASS <redacted>", log);
        Assert.Contains("logged in", log);
        Assert.DoesNotContain("secret", log);
        Assert.DoesNotContain("hunter2", log);
        Assert.DoesNotContain("wrong-password-xyz", log);
        Assert.DoesNotContain("0123456789abcdef", log);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task A_login_right_after_quit_is_never_refused_as_in_use(bool deleteSomething)
    {
        // The lock is released before QUIT's +OK leaves: a client that reconnects the moment it reads
        // the reply (a poller, a test suite) must find the mailbox free. A store whose release takes
        // a while (a PostgreSQL lease is a round trip) makes the old order fail every time.
        var memory = new Restante.Storage.InMemory.InMemoryMailStore();
        await using var server = await TestServer.StartAsync(store: new SlowReleaseStore(memory, TimeSpan.FromMilliseconds(300)));
        server.AddUser("alice", "secret");
        for (var i = 0; i < 5; i++) memory.Add("alice", Encoding.ASCII.GetBytes($"Subject: {i}\r\n\r\nbody\r\n"));
        for (var round = 0; round < 3; round++)
        {
            await using var c = await server.LoginAsync("alice", "secret");
            if (deleteSomething)
            {
                await c.SendAsync("DELE 1");
                await c.ExpectAsync("+OK");
            }
            await c.SendAsync("QUIT");
            await c.ExpectAsync("+OK");
        }
        Assert.Equal(deleteSomething ? 2 : 5, memory.MessagesOf("alice").Count);
    }

    /// <summary>Delegates to a real store; releasing a maildrop takes <paramref name="delay"/>.</summary>
    private sealed class SlowReleaseStore(Restante.Storage.IMailBackend inner, TimeSpan delay) : Restante.Storage.IMailBackend
    {
        public async ValueTask<Restante.Storage.IMaildrop> OpenAsync(string user, CancellationToken cancellationToken)
            => new SlowRelease(await inner.OpenAsync(user, cancellationToken), delay);

        public ValueTask<IReadOnlyList<Restante.Storage.StoredMessage>> ListAsync(string user, CancellationToken cancellationToken)
            => inner.ListAsync(user, cancellationToken);

        public ValueTask<string> DeliverAsync(string user, Stream message, CancellationToken cancellationToken)
            => inner.DeliverAsync(user, message, cancellationToken);

        public ValueTask<long> GetUsageAsync(string user, CancellationToken cancellationToken)
            => inner.GetUsageAsync(user, cancellationToken);

        private sealed class SlowRelease(Restante.Storage.IMaildrop inner, TimeSpan delay) : Restante.Storage.IMaildrop
        {
            public IReadOnlyList<Restante.Storage.StoredMessage> Messages => inner.Messages;

            public ValueTask<Stream> OpenMessageAsync(int index, CancellationToken cancellationToken) => inner.OpenMessageAsync(index, cancellationToken);

            public ValueTask<Restante.Storage.ExpungeResult> ExpungeAsync(IReadOnlyList<int> indexes, CancellationToken cancellationToken)
                => inner.ExpungeAsync(indexes, cancellationToken);

            public async ValueTask DisposeAsync()
            {
                await Task.Delay(delay);
                await inner.DisposeAsync();
            }
        }
    }
}
