using System.Diagnostics;
using System.Text;
using Microsoft.Extensions.Time.Testing;
using Restante.Networking;
using Restante.Tests.Infrastructure;

namespace Restante.Tests.Networking;

/// <summary>
/// The busy share of the descriptor budget is enforced: with one command slot, a session whose RETR is stuck on a
/// client that stopped reading holds the slot (and the message's descriptors), and every other command that would
/// open files is refused with [SYS/TEMP] after a short wait instead of taking more descriptors. Real server, real
/// sockets, a real Maildir; the slow reader is a client that sends RETR of a message larger than the loopback
/// socket buffers and does not read.
/// </summary>
public class CommandDescriptorGateTests
{
    [Fact]
    public void The_hold_limit_is_the_write_timeout_plus_the_size_at_the_minimum_rate_and_saturates()
    {
        var gate = new CommandDescriptorGate(1, Microsoft.Extensions.Logging.Abstractions.NullLogger.Instance);
        Assert.Equal(TimeSpan.FromSeconds(2 + 10), gate.HoldLimit(10 * CommandDescriptorGate.DefaultMinimumSendRate, TimeSpan.FromSeconds(2)));
        Assert.Equal(TimeSpan.FromSeconds(2), gate.HoldLimit(-5, TimeSpan.FromSeconds(2)));
        // A write timeout of "for ever", or a size no send reaches, is no bound rather than an overflow.
        Assert.Equal(TimeSpan.MaxValue, gate.HoldLimit(100, TimeSpan.MaxValue));
        Assert.Equal(TimeSpan.MaxValue, gate.HoldLimit(long.MaxValue, TimeSpan.FromMinutes(2)));
    }

    // Far more than loopback's send and receive buffers together (a few MB), so the RETR stays inside its flush.
    private const int MessageSize = 24 * 1024 * 1024;

    private static byte[] LargeMessage()
    {
        var text = new StringBuilder("Subject: big\n\n");
        var line = new string('x', 998) + "\n";
        while (text.Length < MessageSize) text.Append(line);
        return Encoding.ASCII.GetBytes(text.ToString());
    }

    private static async Task<TestServer> StartWithOneSlotAsync()
    {
        var server = await TestServer.StartAsync();
        server.Server.CommandDescriptors = new CommandDescriptorGate(1, server.Logs.CreateLogger("Restante.Networking"), TimeSpan.FromSeconds(1),
            server.Server.Metrics.DescriptorSlotRefused);
        server.AddUser("alice", "secret");
        server.AddUser("bob", "secret");
        server.AddUser("carol", "secret");
        server.Deliver("alice", LargeMessage());
        server.Deliver("bob", "Subject: small\n\nhello\n");
        server.Deliver("carol", "Subject: small\n\nhello\n");
        return server;
    }

    [Fact]
    public async Task Busy_refusals_do_not_count_as_bad_commands()
    {
        // Three bad commands end a session here; six busy refusals must not (the client did nothing wrong).
        await using var server = await TestServer.StartAsync(o => o.MaxBadCommands = 3);
        server.Server.CommandDescriptors = new CommandDescriptorGate(1, server.Logs.CreateLogger("Restante.Networking"), TimeSpan.FromMilliseconds(50),
            server.Server.Metrics.DescriptorSlotRefused);
        server.AddUser("alice", "secret");
        server.AddUser("bob", "secret");
        server.Deliver("alice", LargeMessage());
        server.Deliver("bob", "Subject: small\n\nhello\n");
        await using var a = await server.LoginAsync("alice", "secret");
        await using var b = await server.LoginAsync("bob", "secret");
        await a.SendAsync("RETR 1");
        await a.ExpectAsync("+OK");
        await WaitForFreeAsync(server, 0);

        for (var i = 0; i < 6; i++)
        {
            await b.SendAsync("RETR 1");
            Assert.StartsWith("-ERR [SYS/TEMP]", await b.ExpectAsync("-ERR"));
        }
        await b.SendAsync("NOOP");
        await b.ExpectAsync("+OK");
    }

    private static async Task WaitForFreeAsync(TestServer server, int free)
    {
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(30);
        while (server.Server.CommandDescriptors.Free != free)
        {
            Assert.True(DateTime.UtcNow < deadline, $"the gate has {server.Server.CommandDescriptors.Free} slots free, expected {free}");
            await Task.Delay(20);
        }
    }

    [Fact]
    public async Task A_retr_stuck_on_a_slow_reader_holds_the_only_slot_and_others_get_sys_temp_until_it_is_read()
    {
        await using var server = await StartWithOneSlotAsync();
        await using var a = await server.LoginAsync("alice", "secret");
        await using var b = await server.LoginAsync("bob", "secret");
        Assert.Equal(1, server.Server.CommandDescriptors.Free);   // both logins gave their slot back

        await a.SendAsync("RETR 1");
        await a.ExpectAsync("+OK");
        await WaitForFreeAsync(server, 0);   // A is inside its send, not reading

        await b.SendAsync("RETR 1");
        Assert.StartsWith("-ERR [SYS/TEMP]", await b.ExpectAsync("-ERR"));
        await b.SendAsync("TOP 1 0");
        Assert.StartsWith("-ERR [SYS/TEMP]", await b.ExpectAsync("-ERR"));
        await b.SendAsync("NOOP");
        await b.ExpectAsync("+OK");   // the session lives on

        // A login needs the slot too, and is refused without keeping carol's mailbox locked.
        await using (var c = await server.ConnectAsync())
        {
            await c.ExpectAsync("+OK");
            await c.SendAsync("USER carol");
            await c.ExpectAsync("+OK");
            await c.SendAsync("PASS secret");
            Assert.StartsWith("-ERR [SYS/TEMP]", await c.ExpectAsync("-ERR"));
        }

        var (octets, _) = await a.DrainMultiLineAsync(TimeSpan.FromSeconds(120));
        Assert.True(octets >= MessageSize, $"A read {octets} octets");
        await WaitForFreeAsync(server, 1);

        await b.SendAsync("RETR 1");
        await b.ExpectAsync("+OK");
        Assert.Contains("hello", await b.ReadMultiLineAsync());
        await using var carol = await server.LoginAsync("carol", "secret");   // not left locked by the refused login
        await b.SendAsync("QUIT");
        await b.ExpectAsync("+OK");
    }

    [Fact]
    public async Task A_client_gone_mid_send_gives_its_slot_back()
    {
        await using var server = await StartWithOneSlotAsync();
        var a = await server.LoginAsync("alice", "secret");
        await a.SendAsync("RETR 1");
        await a.ExpectAsync("+OK");
        await WaitForFreeAsync(server, 0);

        a.Abort();   // RST with most of the message unsent: the server's send fails
        await WaitForFreeAsync(server, 1);

        await using var b = await server.LoginAsync("bob", "secret");
        await b.SendAsync("RETR 1");
        await b.ExpectAsync("+OK");
        Assert.Contains("hello", await b.ReadMultiLineAsync());
    }

    [Fact]
    public async Task A_quit_without_a_slot_deletes_nothing_and_says_sys_temp()
    {
        await using var server = await StartWithOneSlotAsync();
        await using var a = await server.LoginAsync("alice", "secret");
        await using var b = await server.LoginAsync("bob", "secret");
        await a.SendAsync("RETR 1");
        await a.ExpectAsync("+OK");
        await WaitForFreeAsync(server, 0);

        await b.SendAsync("DELE 1");
        await b.ExpectAsync("+OK");
        await b.SendAsync("QUIT");
        Assert.StartsWith("-ERR [SYS/TEMP]", await b.ExpectAsync("-ERR"));
        Assert.True(await b.IsClosedAsync());
        Assert.Single(Directory.GetFiles(Path.Join(server.MaildirOf("bob"), "new")).Concat(Directory.GetFiles(Path.Join(server.MaildirOf("bob"), "cur"))));
        a.Abort();
        await WaitForFreeAsync(server, 1);
    }

    [Fact]
    public async Task A_refusal_is_logged_once_at_warning_without_client_text()
    {
        await using var server = await TestServer.StartAsync();
        var gate = new CommandDescriptorGate(1, server.Logs.CreateLogger("Restante.Networking"), TimeSpan.FromMilliseconds(50));
        using (var held = await gate.EnterAsync("RETR", CancellationToken.None))
        {
            Assert.NotNull(held);
            Assert.Null(await gate.EnterAsync("TOP", CancellationToken.None));
            held!.Dispose();
            held.Dispose();   // twice gives back one slot, not two
        }
        Assert.Equal(1, gate.Free);
        var warnings = server.Logs.Lines.Where(l => l.Contains("CommandDescriptor", StringComparison.Ordinal) || l.Contains("descriptor slots", StringComparison.Ordinal)).ToList();
        Assert.Single(warnings);
        Assert.StartsWith("Warning", warnings[0]);
        Assert.Contains("1 POP3 command(s) refused with [SYS/TEMP]", warnings[0]);
        Assert.Contains("(the last a TOP)", warnings[0]);
    }

    private static List<string> RefusalWarnings(TestServer server)
        => server.Logs.Lines.Where(l => l.Contains("descriptor slots", StringComparison.Ordinal)).ToList();

    [Fact]
    public async Task A_burst_of_refusals_is_one_warning_per_interval_with_its_count()
    {
        await using var server = await TestServer.StartAsync();
        var time = new FakeTimeProvider();
        var gate = new CommandDescriptorGate(1, server.Logs.CreateLogger("Restante.Networking"), TimeSpan.FromMilliseconds(10), time: time);
        var held = await gate.EnterAsync("RETR", CancellationToken.None);
        Assert.NotNull(held);
        for (var i = 0; i < 5; i++) Assert.Null(await gate.EnterAsync("TOP", CancellationToken.None));
        Assert.Single(RefusalWarnings(server));   // the first at once, the next four held back

        time.Advance(TimeSpan.FromSeconds(3));
        Assert.Null(await gate.EnterAsync("login", CancellationToken.None));
        Assert.Single(RefusalWarnings(server));   // still inside the interval

        // Refusals stop; the next slot given back after the interval reports what was held back, once.
        time.Advance(CommandDescriptorGate.RefusalLogInterval);
        held!.Dispose();
        var warnings = RefusalWarnings(server);
        Assert.Equal(2, warnings.Count);
        Assert.Contains("5 POP3 command(s) refused with [SYS/TEMP] in the last 13 s (the last a login)", warnings[1]);
        using (var again = await gate.EnterAsync("RETR", CancellationToken.None)) Assert.NotNull(again);
        Assert.Equal(2, RefusalWarnings(server).Count);

        // A refusal after a quiet interval is logged at once again.
        var holder = await gate.EnterAsync("RETR", CancellationToken.None);
        time.Advance(CommandDescriptorGate.RefusalLogInterval);
        Assert.Null(await gate.EnterAsync("QUIT", CancellationToken.None));
        Assert.Equal(3, RefusalWarnings(server).Count);
        Assert.Contains("1 POP3 command(s) refused", RefusalWarnings(server)[2]);
        holder!.Dispose();
    }

    [Fact]
    public async Task A_slow_reader_loses_its_slot_once_the_send_outlasts_the_write_timeout_plus_its_size_at_the_minimum_rate()
    {
        // The client reads about 256 KB/s: every 256 KiB flush finishes well inside the 10 s write timeout, so no single
        // flush times out and, unbounded, the 24 MB send would hold the only slot for about 100 s. The bound is
        // 10 s + 24 MB at 2 MiB/s, about 22 s. Generous margins either side for a loaded machine.
        await using var server = await TestServer.StartAsync(o => o.WriteTimeout = TimeSpan.FromSeconds(10));
        server.Server.CommandDescriptors = new CommandDescriptorGate(1, server.Logs.CreateLogger("Restante.Networking"), TimeSpan.FromSeconds(1),
            server.Server.Metrics.DescriptorSlotRefused, minimumSendRate: 2 * 1024 * 1024);
        server.AddUser("alice", "secret");
        server.AddUser("bob", "secret");
        server.Deliver("alice", LargeMessage());
        server.Deliver("bob", "Subject: small\n\nhello\n");
        await using var a = await server.LoginAsync("alice", "secret");
        await a.SendAsync("RETR 1");
        await a.ExpectAsync("+OK");
        var watch = Stopwatch.StartNew();

        var (octets, closed) = await a.ReadSlowlyAsync(16 * 1024, TimeSpan.FromMilliseconds(62), TimeSpan.FromSeconds(50));
        Assert.True(closed, $"the server was still sending after {watch.Elapsed.TotalSeconds:F0} s ({octets} octets read)");
        Assert.True(octets < MessageSize, $"A read {octets} octets: the whole message, not a cut send");
        // Not cut by the write timeout alone: the bound grew with the message's size.
        Assert.True(watch.Elapsed > TimeSpan.FromSeconds(12), $"cut after {watch.Elapsed.TotalSeconds:F1} s");
        await WaitForFreeAsync(server, 1);
        // The session's end line comes once it has closed (just after the slot was given back).
        var logDeadline = DateTime.UtcNow + TimeSpan.FromSeconds(30);
        while (!server.Logs.Lines.Any(l => l.Contains("too slow reading a message", StringComparison.Ordinal)))
        {
            Assert.True(DateTime.UtcNow < logDeadline, "no session ended as too slow reading a message");
            await Task.Delay(20);
        }

        await using var b = await server.LoginAsync("bob", "secret");
        await b.SendAsync("RETR 1");
        await b.ExpectAsync("+OK");
        Assert.Contains("hello", await b.ReadMultiLineAsync());
    }

    [Fact]
    public void The_server_derives_its_slots_from_the_budget_left_after_idle_sessions()
    {
        // 1,000 POP3 sessions fitted exactly: the busy share Needed counted, 250.
        var shares = new ConnectionShares(1000, 0, 0);
        Assert.Equal(250, FileDescriptorLimit.CommandSlots(shares, FileDescriptorLimit.Needed(shares)));
        // A roomier budget gives every spare descriptor to commands, three at a time.
        Assert.Equal((100_000 - 2_000) / 3, FileDescriptorLimit.CommandSlots(shares, 100_000));
    }
}
