using System.Runtime.InteropServices;
using Restante.Tests.Infrastructure;

namespace Restante.Tests.Migration;

/// <summary>
/// Courier's courierpop3dsizelist and the plain uidl-map, and what happens to UIDLs RFC 1939 does not
/// allow. The files lie in a Maildir the user may write, so they are hostile input too: a symlink,
/// a FIFO or a huge file refuses the mailbox (logged), never leads elsewhere and never hangs a login.
/// </summary>
public class ImportedUidlTests
{
    [Fact]
    public async Task Courier_UIDLs_are_served_as_Courier_printed_them()
    {
        await using var server = await StartAsync("courier");
        var first = Deliver(server, 1_600_000_001, "one");
        var second = Deliver(server, 1_600_000_002, "two");
        var third = Deliver(server, 1_600_000_003, "three");
        var fourth = Deliver(server, 1_600_000_004, "four");
        var fifth = Deliver(server, 1_600_000_005, "five");
        // Courier keeps the name as it was when it last saw it (here: after a RETR marked it seen).
        File.WriteAllText(Path.Combine(server.MaildirOf("alice"), "courierpop3dsizelist"),
            "/3 9 1600000000\n"
            + $"{first}:2,S 40 3:1600000000:0\n"
            + $"{second} 41 4:1600000000\n"                 // version 2 line, no UTF-8 flag
            + $"{third} 42 5:0:0\n"                          // no uidvalidity: UIDn
            + $"{fourth}:2,S 43 0:0:0\n"                     // uid 0: the escaped file name
            + "1599999999.gone.host 10 2:1600000000:0\n"     // a message deleted since
            + "garbage line\n");

        var (uidl, _) = await MigrationFixtures.FetchAsync(server, "alice", "secret");

        Assert.Equal(new[]
        {
            "1 UID3-1600000000",
            "2 UID4-1600000000",
            "3 UID5",
            $"4 {fourth}",
            $"5 {fifth}",   // not in the list: the native UIDL
        }, uidl);
        Assert.Contains(server.Logs.Lines, l => l.Contains("1 lines of courierpop3dsizelist", StringComparison.Ordinal));
    }

    [Fact]
    public void Courier_escapes_a_version_0_name_as_Courier_does()
    {
        Assert.True(Restante.Storage.Maildir.CourierSizeList.TryParse("/2 5\nname+with'quote\"s 12 0:0\n", out var list, out _));
        Assert.Equal("name+2Bwith+27quote+22s", list.Find("name+with'quote\"s", "name+with'quote\"s"));
    }

    [Fact]
    public async Task A_uidl_map_is_served_and_bad_or_repeated_UIDLs_fall_back_to_the_native_one()
    {
        await using var server = await StartAsync("map");
        var names = Enumerable.Range(1, 5).Select(i => Deliver(server, 1_600_000_000 + i, $"m{i}")).ToArray();
        File.WriteAllText(Path.Combine(server.MaildirOf("alice"), "uidl-map"),
            "# written by hand\n\n"
            + $"{names[0]} OLD-1\n"
            + $"{names[1]}:2,S\tOLD-2\n"                     // a whole file name: its base counts
            + $"{names[2]} {new string('x', 71)}\n"          // longer than RFC 1939 allows
            + $"{names[3]} OLD-1\n"                          // the UIDL of message 1 again
            + $"{names[4]} caf\u00e9\n");                   // not printable ASCII

        var (uidl, _) = await MigrationFixtures.FetchAsync(server, "alice", "secret");

        Assert.Equal(new[] { "1 OLD-1", "2 OLD-2", $"3 {names[2]}", $"4 {names[3]}", $"5 {names[4]}" }, uidl);
        Assert.Contains(server.Logs.Lines, l => l.Contains("2 UIDLs in uidl-map", StringComparison.Ordinal) && l.Contains("not RFC 1939 unique-ids", StringComparison.Ordinal));
        Assert.Contains(server.Logs.Lines, l => l.Contains("1 UIDLs in uidl-map", StringComparison.Ordinal) && l.Contains("OLD-1", StringComparison.Ordinal));
    }

    [Fact]
    public async Task A_native_UIDL_an_imported_one_already_took_is_replaced_by_its_hash()
    {
        await using var server = await StartAsync("map");
        var first = Deliver(server, 1_600_000_001, "one");
        var second = Deliver(server, 1_600_000_002, "two");
        // Message 1 is said to have been served as message 2's file name; message 2 is not in the map.
        File.WriteAllText(Path.Combine(server.MaildirOf("alice"), "uidl-map"), $"{first} {second}\n");

        var (uidl, _) = await MigrationFixtures.FetchAsync(server, "alice", "secret");

        Assert.Equal($"1 {second}", uidl[0]);
        Assert.Matches("^2 X[0-9a-f]{40}$", uidl[1]);
    }

    [Theory]
    [InlineData("symlink")]
    [InlineData("fifo")]
    [InlineData("huge")]
    [InlineData("directory")]
    public async Task An_unusable_file_refuses_the_mailbox_rather_than_change_UIDLs(string kind)
    {
        await using var server = await StartAsync("map");
        Deliver(server, 1_600_000_001, "one");
        var path = Path.Combine(server.MaildirOf("alice"), "uidl-map");
        var outside = Path.Combine(server.Data.Path, "outside");
        File.WriteAllText(outside, "1600000001.secret SECRET\n");
        switch (kind)
        {
            case "symlink": File.CreateSymbolicLink(path, outside); break;
            case "fifo": Assert.Equal(0, Mkfifo(path, 0b110_000_000)); break;
            case "directory": Directory.CreateDirectory(path); break;
            default:
                using (var huge = File.Create(path)) huge.SetLength(65L * 1024 * 1024);   // sparse: no disk used
                break;
        }

        await using var c = await server.ConnectAsync();
        await c.ExpectAsync("+OK");
        await c.SendAsync("USER alice");
        await c.ExpectAsync("+OK");
        await c.SendAsync("PASS secret");
        await c.ExpectAsync("-ERR [SYS/PERM]");
        Assert.Contains(server.Logs.Lines, l => l.Contains("Cannot serve the UIDLs of", StringComparison.Ordinal));
    }

    [Fact]
    public async Task A_dovecot_uidlist_with_a_damaged_header_refuses_the_mailbox()
    {
        await using var server = await TestServer.StartAsync(configureServer: o => o.UidlSource = "dovecot");
        server.AddUser("alice", "secret");
        Deliver(server, 1_600_000_001, "one");
        File.WriteAllText(Path.Combine(server.MaildirOf("alice"), "dovecot-uidlist"), "3 N5\n1 :1600000001.x\n");

        await using var c = await server.ConnectAsync();
        await c.ExpectAsync("+OK");
        await c.SendAsync("USER alice");
        await c.ExpectAsync("+OK");
        await c.SendAsync("PASS secret");
        await c.ExpectAsync("-ERR [SYS/PERM]");
        Assert.Contains(server.Logs.Lines, l => l.Contains("no UIDVALIDITY", StringComparison.Ordinal));
    }

    [Theory]
    [InlineData("%m", "mbox only")]
    [InlineData("%{uid}", "only %u, %v, %f and %g")]
    [InlineData("plain", "uses none of")]
    [InlineData("%08Qu", "not a pop3_uidl_format variable")]
    public void A_format_Dovecot_could_not_have_served_a_Maildir_with_is_refused_at_start(string format, string reason)
    {
        var options = new Restante.Hosting.RestanteOptions { UidlSource = "dovecot", DovecotUidlFormat = format };
        Assert.Contains(options.Validate(), p => p.Contains(reason, StringComparison.Ordinal));
    }

    [Fact]
    public void An_unknown_source_is_refused_at_start()
    {
        var options = new Restante.Hosting.RestanteOptions { UidlSource = "dovecto" };
        Assert.Contains(options.Validate(), p => p.StartsWith("UidlSource: 'dovecto'", StringComparison.Ordinal));
    }

    private static async Task<TestServer> StartAsync(string source)
    {
        var server = await TestServer.StartAsync(configureServer: o => o.UidlSource = source);
        server.AddUser("alice", "secret");
        return server;
    }

    /// <summary>Delivers a message and returns its file name (the base: no fields, no info).</summary>
    private static string Deliver(TestServer server, long seconds, string body)
        => Path.GetFileName(server.Deliver("alice", $"Subject: {body}\n\n{body}\n", seconds));

    [DllImport("libc", EntryPoint = "mkfifo", SetLastError = true)]
    private static extern int Mkfifo([MarshalAs(UnmanagedType.LPUTF8Str)] string path, int mode);
}
