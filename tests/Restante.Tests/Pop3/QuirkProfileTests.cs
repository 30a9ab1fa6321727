using Microsoft.Extensions.Configuration;
using Restante.Pop3;
using Restante.Pop3.Quirks;
using Restante.Tests.Infrastructure;

namespace Restante.Tests.Pop3;

/// <summary>Client quirk profiles through real sessions: LAST, the bare AUTH answer, and Maildir seen flags at QUIT.</summary>
public class QuirkProfileTests
{
    private static QuirkProfile Loopback(Action<QuirkProfile> configure)
    {
        var profile = new QuirkProfile { Name = "old clients", Networks = ["127.0.0.0/8"] };
        configure(profile);
        return profile;
    }

    private static async Task<TestServer> ServerAsync(params QuirkProfile[] profiles)
    {
        var server = await TestServer.StartAsync(o => o.Quirks.Profiles.AddRange(profiles));
        server.AddUser("alice", "secret");
        server.AddUser("bob", "secret");
        foreach (var user in new[] { "alice", "bob" })
        {
            server.Deliver(user, "Subject: one\r\n\r\nfirst\r\n", 1_700_000_000);
            server.Deliver(user, "Subject: two\r\n\r\nsecond\r\n", 1_700_000_100);
            server.Deliver(user, "Subject: three\r\n\r\nthird\r\n", 1_700_000_200);
        }
        return server;
    }

    private static async Task<string?> AskAsync(Transcript c, string command)
    {
        await c.SendAsync(command);
        return await c.ReadLineAsync();
    }

    [Fact]
    public async Task Last_reports_the_highest_message_accessed_by_retr_or_dele_and_rset_resets_it()
    {
        await using var server = await ServerAsync(Loopback(p => p.Last = true));
        await using var c = await server.LoginAsync("alice", "secret");
        Assert.Equal("+OK 0", await AskAsync(c, "LAST"));
        await c.SendAsync("RETR 2");
        await c.ExpectAsync("+OK");
        await c.ReadMultiLineAsync();
        Assert.Equal("+OK 2", await AskAsync(c, "LAST"));
        await c.SendAsync("TOP 3 0");
        await c.ExpectAsync("+OK");
        await c.ReadMultiLineAsync();
        Assert.Equal("+OK 2", await AskAsync(c, "LAST"));   // TOP is not an access
        await AskAsync(c, "DELE 3");
        Assert.Equal("+OK 3", await AskAsync(c, "LAST"));
        await AskAsync(c, "RSET");
        Assert.Equal("+OK 0", await AskAsync(c, "LAST"));
    }

    [Fact]
    public async Task Last_is_unknown_outside_the_profile()
    {
        await using var server = await ServerAsync(new QuirkProfile { Networks = ["192.0.2.0/24"], Last = true }, new QuirkProfile { Users = ["bob"], Last = true });
        await using (var alice = await server.LoginAsync("alice", "secret"))
            Assert.Equal("-ERR Unknown command.", await AskAsync(alice, "LAST"));
        await using var bob = await server.LoginAsync("bob", "secret");
        Assert.Equal("+OK 0", await AskAsync(bob, "LAST"));
    }

    [Fact]
    public async Task Bare_auth_lists_mechanisms_unless_a_profile_wants_an_error()
    {
        await using (var listing = await ServerAsync())
        {
            await using var c = await listing.ConnectAsync();
            await c.ExpectAsync("+OK");
            Assert.Equal("+OK Methods supported:", await AskAsync(c, "AUTH"));
            Assert.Equal(["PLAIN", "LOGIN"], await c.ReadMultiLineAsync());
        }
        await using var strict = await ServerAsync(Loopback(p => p.EmptyAuth = EmptyAuthReply.Error));
        await using var s = await strict.ConnectAsync();
        await s.ExpectAsync("+OK");
        Assert.Equal("-ERR AUTH needs a mechanism name.", await AskAsync(s, "AUTH"));
        Assert.Equal("+OK Logging out.", await AskAsync(s, "QUIT"));
    }

    [Fact]
    public async Task Retrieved_messages_move_to_cur_with_the_seen_flag_at_quit_and_keep_their_uidl()
    {
        await using var server = await ServerAsync(Loopback(p => { p.MarkSeenOnQuit = true; p.Last = true; }));
        var root = server.MaildirOf("alice");
        // One message already in cur/ with a flag of its own, as an IMAP server leaves it.
        var flagged = server.Deliver("alice", "Subject: four\r\n\r\nfourth\r\n", 1_700_000_300);
        File.Move(flagged, Path.Combine(root, "cur", Path.GetFileName(flagged) + ":2,F"));

        List<string> uidlsBefore;
        await using (var c = await server.LoginAsync("alice", "secret"))
        {
            await c.SendAsync("UIDL");
            await c.ExpectAsync("+OK");
            uidlsBefore = await c.ReadMultiLineAsync();
            foreach (var command in new[] { "RETR 1", "TOP 2 0", "RETR 3", "RETR 4" })
            {
                await c.SendAsync(command);
                await c.ExpectAsync("+OK");
                await c.ReadMultiLineAsync();
            }
            await AskAsync(c, "DELE 3");
            Assert.Equal("+OK Logging out, 1 messages deleted.", await AskAsync(c, "QUIT"));
        }

        var inNew = Directory.GetFiles(Path.Combine(root, "new")).Select(Path.GetFileName).ToList();
        var inCur = Directory.GetFiles(Path.Combine(root, "cur")).Select(Path.GetFileName).Order(StringComparer.Ordinal).ToList();
        Assert.Single(inNew);                               // message 2: only its top was read
        Assert.Equal(2, inCur.Count);
        Assert.EndsWith(":2,S", inCur[0]);                  // message 1
        Assert.EndsWith(":2,FS", inCur[1]);                 // message 4: S joins F, in ASCII order

        await using var again = await server.LoginAsync("alice", "secret");
        await again.SendAsync("UIDL");
        await again.ExpectAsync("+OK");
        var uidlsAfter = await again.ReadMultiLineAsync();
        Assert.Equal([uidlsBefore[0], uidlsBefore[1], "3 " + uidlsBefore[3].Split(' ')[1]], uidlsAfter);
        // LAST starts from what is flagged seen: message 3 (was 4) is the highest.
        Assert.Equal("+OK 3", await AskAsync(again, "LAST"));
    }

    [Fact]
    public async Task Without_the_profile_retrieved_messages_stay_in_new()
    {
        await using var server = await ServerAsync(new QuirkProfile { Users = ["bob"], MarkSeenOnQuit = true });
        await using (var c = await server.LoginAsync("alice", "secret"))
        {
            await c.SendAsync("RETR 1");
            await c.ExpectAsync("+OK");
            await c.ReadMultiLineAsync();
            await AskAsync(c, "QUIT");
        }
        Assert.Equal(3, Directory.GetFiles(Path.Combine(server.MaildirOf("alice"), "new")).Length);
        Assert.Empty(Directory.GetFiles(Path.Combine(server.MaildirOf("alice"), "cur")));
    }

    [Fact]
    public void Profiles_bind_from_configuration_and_are_validated()
    {
        var configuration = new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["Quirks:Profiles:0:Name"] = "outlook",
            ["Quirks:Profiles:0:Networks:0"] = "10.1.0.0/16",
            ["Quirks:Profiles:0:EmptyAuth"] = "Error",
            ["Quirks:Profiles:0:MarkSeenOnQuit"] = "true",
            ["Quirks:Profiles:1:Users:0"] = "carol",
            ["Quirks:Profiles:1:Last"] = "true",
            ["Quirks:Profiles:2:Networks:0"] = "not-a-network",
        }).Build();
        var options = new Pop3Options();
        configuration.Bind(options);
        Assert.Equal(3, options.Quirks.Profiles.Count);
        Assert.Equal(EmptyAuthReply.Error, options.Quirks.Profiles[0].EmptyAuth);
        Assert.True(options.Quirks.Profiles[0].MarkSeenOnQuit);
        Assert.Equal(["carol"], options.Quirks.Profiles[1].Users);
        var problem = Assert.Single(options.Validate());
        Assert.Contains("Quirks:Profiles:2", problem);
    }
}
