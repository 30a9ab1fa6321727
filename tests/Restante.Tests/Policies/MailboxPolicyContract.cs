using System.Text;
using MailKit.Net.Pop3;
using MailKit.Security;
using Microsoft.Extensions.Time.Testing;
using Restante.Pop3;
using Restante.Storage;
using Restante.Tests.Infrastructure;
using Restante.Tests.Storage;

namespace Restante.Tests.Policies;

/// <summary>
/// LOGIN-DELAY, EXPIRE and retention through real sessions (MailKit and raw transcripts) against a real server, with
/// restarts: one class per store says how to start a server over the same store again.
/// </summary>
public abstract class MailboxPolicyContract : IDisposable
{
    protected FakeTimeProvider Time { get; } = new(new DateTimeOffset(2026, 3, 1, 12, 0, 0, TimeSpan.Zero));

    private protected TempDirectory Data { get; } = new();

    public void Dispose()
    {
        DisposeStore();
        Data.Dispose();
        GC.SuppressFinalize(this);
    }

    /// <summary>Releases what the derived suite made beside the data directory.</summary>
    protected virtual void DisposeStore()
    {
    }

    /// <summary>A server over the store of this test (the same one each time: a restart keeps the mail and the state).</summary>
    private protected abstract Task<TestServer> StartServerAsync(Action<Pop3Options> configure, int retentionDays = 0);

    /// <summary>The arguments that point the CLI at this test's store.</summary>
    protected abstract string[] CliStoreArguments { get; }

    protected void AddUser(string name, string fields = "")
        => File.AppendAllText(Path.Combine(Data.Path, "passwd"), $"{name}:{{PLAIN}}pw::::::{fields}\n");

    private long Size(string subject) => StoredLength($"Subject: {subject}\n\nBody of {subject}\n");

    /// <summary>What a delivered message occupies in the store (usage): as given; Maildir stores CRLF line ends.</summary>
    protected virtual long StoredLength(string delivered) => Encoding.ASCII.GetByteCount(delivered);

    /// <summary>Delivers through the server's store, a second apart, so arrival order is delivery order in every store.</summary>
    private protected async Task<string> DeliverAsync(TestServer server, string user, string subject)
    {
        var uid = await server.Server.Store.DeliverAsync(user, new MemoryStream(Encoding.ASCII.GetBytes($"Subject: {subject}\n\nBody of {subject}\n")), CancellationToken.None);
        Time.Advance(TimeSpan.FromSeconds(1));
        return uid;
    }

    private protected static async Task<Pop3Client> LoginAsync(TestServer server, string user)
    {
        var client = new Pop3Client();
        await client.ConnectAsync("127.0.0.1", server.Port, SecureSocketOptions.None);
        await client.AuthenticateAsync(user, "pw");
        return client;
    }

    /// <summary>The subjects of the messages the user sees now (one login, ended with QUIT).</summary>
    private protected static async Task<List<string>> SubjectsAsync(TestServer server, string user)
    {
        using var client = await LoginAsync(server, user);
        var subjects = new List<string>();
        for (var i = 0; i < client.Count; i++) subjects.Add((await client.GetMessageHeadersAsync(i))["Subject"] ?? "");
        await client.DisconnectAsync(quit: true);
        return subjects;
    }

    protected static Task<(int ExitCode, string Output)> RunCliAsync(params string[] arguments)
        => Restante.Tests.Tls.Processes.RunAsync("dotnet", null, [ServerProcess.CliPath, .. arguments]);

    [ContractFact]
    public async Task A_login_inside_login_delay_is_refused_after_the_password_even_after_a_restart()
    {
        AddUser("alice");
        await using (var server = await StartServerAsync(o => o.LoginDelay = TimeSpan.FromMinutes(10)))
        {
            using var client = await LoginAsync(server, "alice");
            await client.DisconnectAsync(quit: true);
        }
        Time.Advance(TimeSpan.FromMinutes(9));
        // A new server process knows nothing in memory: the refusal comes from what the store recorded.
        await using (var server = await StartServerAsync(o => o.LoginDelay = TimeSpan.FromMinutes(10)))
        {
            await using var c = await server.ConnectAsync();
            await c.ExpectAsync("+OK");
            await c.SendAsync("USER alice");
            await c.ExpectAsync("+OK");
            await c.SendAsync("PASS pw");
            Assert.Equal("-ERR [LOGIN-DELAY] Minimum time between logins not reached, try again later.", await c.ReadLineAsync());
            await c.SendAsync("QUIT");
            await c.ExpectAsync("+OK");
        }
        // A refused login does not move the clock: a minute later the ten minutes since the last login are over.
        Time.Advance(TimeSpan.FromMinutes(1));
        await using (var server = await StartServerAsync(o => o.LoginDelay = TimeSpan.FromMinutes(10)))
        {
            await using var c = await server.ConnectAsync();
            await c.ExpectAsync("+OK");
            await c.SendAsync("USER alice");
            await c.ExpectAsync("+OK");
            await c.SendAsync("PASS pw");
            await c.ExpectAsync("+OK Logged in");
            await c.SendAsync("QUIT");
            await c.ExpectAsync("+OK");
        }
    }

    [ContractFact]
    public async Task Expire_0_removes_at_quit_what_retr_sent_and_keeps_what_it_did_not()
    {
        AddUser("alice", "userdb_pop3_expire=0");
        await using var server = await StartServerAsync(o => o.Policies.MinUserExpire = "0");
        await DeliverAsync(server, "alice", "one");
        await DeliverAsync(server, "alice", "two");
        await DeliverAsync(server, "alice", "three");
        using (var client = await LoginAsync(server, "alice"))
        {
            Assert.Equal(0, client.ExpirePolicy);
            await client.GetMessageAsync(0);          // RETR: retrieved
            await client.GetMessageHeadersAsync(1);   // TOP: only looked at
            await client.DisconnectAsync(quit: true);
        }
        // Gone at that QUIT, not merely at the next login: the store holds exactly the other two.
        Assert.Equal(Size("two") + Size("three"), await server.Server.Store.GetUsageAsync("alice", CancellationToken.None));
        Assert.Equal(["two", "three"], await SubjectsAsync(server, "alice"));
    }

    [ContractFact]
    public async Task Expire_0_keeps_everything_when_the_session_ends_without_quit_until_the_next_login()
    {
        AddUser("alice", "userdb_pop3_expire=0");
        await using var server = await StartServerAsync(o => o.Policies.MinUserExpire = "0");
        await DeliverAsync(server, "alice", "one");
        await DeliverAsync(server, "alice", "two");
        using (var client = await LoginAsync(server, "alice"))
        {
            await client.GetMessageAsync(1);
            await client.DisconnectAsync(quit: false);   // no UPDATE state: nothing is removed now
        }
        // The server notices the hang-up on its own time; until then the mailbox is still that session's ([IN-USE]).
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(30);
        while (server.Server.ActiveSessions > 0 && DateTime.UtcNow < deadline) await Task.Delay(20);
        // The retrieval was recorded all the same, and EXPIRE 0 lets nothing retrieved in an earlier session stay.
        Assert.Equal(["one"], await SubjectsAsync(server, "alice"));
    }

    [ContractFact]
    public async Task Expire_n_removes_a_retrieved_message_n_days_after_its_first_retrieval_across_a_restart()
    {
        AddUser("alice");
        void Configure(Pop3Options o) => o.Expire = "3";
        await using (var server = await StartServerAsync(Configure))
        {
            await DeliverAsync(server, "alice", "read");
            await DeliverAsync(server, "alice", "unread");
            using var client = await LoginAsync(server, "alice");
            Assert.Equal(3, client.ExpirePolicy);
            await client.GetMessageAsync(0);
            await client.DisconnectAsync(quit: true);
        }
        Time.Advance(TimeSpan.FromDays(2));
        await using (var server = await StartServerAsync(Configure))
        {
            // Two days on, and retrieved again meanwhile: still there, and the clock runs from the first retrieval.
            using (var client = await LoginAsync(server, "alice"))
            {
                Assert.Equal(2, client.Count);
                await client.GetMessageAsync(0);
                await client.DisconnectAsync(quit: true);
            }
        }
        Time.Advance(TimeSpan.FromDays(1));
        await using (var server = await StartServerAsync(Configure))
        {
            Assert.Equal(["unread"], await SubjectsAsync(server, "alice"));
            Time.Advance(TimeSpan.FromDays(30));
            // Never retrieved, never expired, however long it waits.
            Assert.Equal(["unread"], await SubjectsAsync(server, "alice"));
        }
    }

    [ContractFact]
    public async Task A_session_that_expired_messages_at_login_keeps_the_mailbox_and_its_quit_applies_deletions()
    {
        AddUser("alice");
        void Configure(Pop3Options o) => o.Expire = "3";
        await using var server = await StartServerAsync(Configure);
        await DeliverAsync(server, "alice", "read");
        await DeliverAsync(server, "alice", "unread");
        await DeliverAsync(server, "alice", "other");
        using (var client = await LoginAsync(server, "alice"))
        {
            await client.GetMessageAsync(0);
            await client.DisconnectAsync(quit: true);
        }
        Time.Advance(TimeSpan.FromDays(3));

        await using var a = await server.ConnectAsync();
        await a.ExpectAsync("+OK");
        await a.SendAsync("USER alice");
        await a.ExpectAsync("+OK");
        await a.SendAsync("PASS pw");
        await a.ExpectAsync("+OK");   // "read" expired at this login
        await a.SendAsync("STAT");
        Assert.StartsWith("+OK 2 ", await a.ReadLineAsync(), StringComparison.Ordinal);
        // RFC 1939 §4: the mailbox is still this session's, although the expiry already removed a message.
        await using (var b = await server.ConnectAsync())
        {
            await b.ExpectAsync("+OK");
            await b.SendAsync("USER alice");
            await b.ExpectAsync("+OK");
            await b.SendAsync("PASS pw");
            Assert.StartsWith("-ERR [IN-USE]", await b.ReadLineAsync(), StringComparison.Ordinal);
        }
        await a.SendAsync("DELE 1");
        await a.ExpectAsync("+OK");
        await a.SendAsync("QUIT");
        Assert.StartsWith("+OK", await a.ReadLineAsync(), StringComparison.Ordinal);   // the deletion applied, not [SYS/TEMP]
        Assert.Equal(["other"], await SubjectsAsync(server, "alice"));
    }

    [ContractFact]
    public async Task Deleted_messages_are_retained_out_of_sight_and_restore_brings_them_back_with_their_uidls()
    {
        AddUser("alice");
        string[] uidls;
        await using (var server = await StartServerAsync(_ => { }, retentionDays: 7))
        {
            await DeliverAsync(server, "alice", "keep");
            await DeliverAsync(server, "alice", "oops");
            using (var client = await LoginAsync(server, "alice"))
            {
                uidls = [.. await client.GetMessageUidsAsync()];
                await client.DeleteMessageAsync(1);
                await client.DisconnectAsync(quit: true);
            }
            Assert.Equal(["keep"], await SubjectsAsync(server, "alice"));
            // Quota counts what the user can see and remove, not what is retained.
            Assert.Equal(StoredLength("Subject: keep\n\nBody of keep\n"), await server.Server.Store.GetUsageAsync("alice", CancellationToken.None));
            Assert.Equal(1, await CountRetainedAsync(server));
        }
        var restore = await RunCliAsync(["restore", "alice", "--data", Data.Path, .. CliStoreArguments]);
        Assert.True(restore.ExitCode == 0, restore.Output);
        Assert.Contains("alice: 1 messages restored", restore.Output, StringComparison.Ordinal);
        await using (var server = await StartServerAsync(_ => { }, retentionDays: 7))
        {
            using var client = await LoginAsync(server, "alice");
            Assert.Equal(uidls, await client.GetMessageUidsAsync());
            Assert.Equal("oops", (await client.GetMessageHeadersAsync(1))["Subject"]);
            await client.DisconnectAsync(quit: true);
        }
    }

    [ContractFact]
    public async Task The_admin_listing_leaves_out_retained_messages_as_a_login_does()
    {
        AddUser("alice");
        await using var server = await StartServerAsync(_ => { }, retentionDays: 7);
        await DeliverAsync(server, "alice", "keep");
        await DeliverAsync(server, "alice", "gone");
        using (var client = await LoginAsync(server, "alice"))
        {
            await client.DeleteMessageAsync(1);
            await client.DisconnectAsync(quit: true);
        }
        Assert.Equal(1, await CountRetainedAsync(server));
        // What `restante list` and the other admin commands see (IMailStore.ListAsync) is what a POP3 login sees.
        var listed = await server.Server.Store.ListAsync("alice", CancellationToken.None);
        using var again = await LoginAsync(server, "alice");
        Assert.Equal(await again.GetMessageUidsAsync(), listed.Select(m => m.Uid));
        Assert.Equal(await again.GetMessageSizesAsync(), listed.Select(m => (int)m.Size));
        Assert.Single(listed);
        await again.DisconnectAsync(quit: true);
    }

    [ContractFact]
    public async Task The_server_purges_retained_messages_once_they_are_older_than_the_retention_period()
    {
        AddUser("alice");
        await using var server = await StartServerAsync(_ => { }, retentionDays: 2);
        await DeliverAsync(server, "alice", "one");
        await DeliverAsync(server, "alice", "two");
        using (var client = await LoginAsync(server, "alice"))
        {
            await client.DeleteMessageAsync(0);
            await client.DeleteMessageAsync(1);
            await client.DisconnectAsync(quit: true);
        }
        Assert.Equal(2, await CountRetainedAsync(server));
        // A day and a half: the purges that ran (a minute after start, then daily) found nothing old enough.
        Time.Advance(TimeSpan.FromHours(36));
        await Task.Delay(500);
        Assert.Equal(2, await CountRetainedAsync(server));
        Time.Advance(TimeSpan.FromDays(2));
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(30);
        while (await CountRetainedAsync(server) > 0 && DateTime.UtcNow < deadline) await Task.Delay(100);
        Assert.Equal(0, await CountRetainedAsync(server));
        Assert.Equal(0, await ((IMessageRetention)server.Server.Store).RestoreAsync("alice", null, CancellationToken.None));
    }

    /// <summary>How many messages the store still retains for alice.</summary>
    private protected abstract Task<int> CountRetainedAsync(TestServer server);
}
