using System.Globalization;
using Restante.Pop3;
using Restante.Tests.Infrastructure;

namespace Restante.Tests.Policies;

/// <summary>The mailbox policies over Maildir: state in restante-policy, retained mail in restante-retained/.</summary>
public sealed class MaildirPolicyTests : MailboxPolicyContract
{
    private protected override Task<TestServer> StartServerAsync(Action<Pop3Options> configure, int retentionDays = 0)
        => TestServer.StartAsync(configure, Time, data: Data, configureServer: o => o.Retention.Days = retentionDays);

    protected override string[] CliStoreArguments => [];

    /// <summary>Maildir delivery stores CRLF line ends (WireFormConverter): every LF of these LF-only messages gains a CR.</summary>
    protected override long StoredLength(string delivered) => delivered.Length + delivered.Count(c => c == '\n');

    private protected override Task<int> CountRetainedAsync(TestServer server) => Task.FromResult(CountRetained(server.MaildirOf("alice")));

    private static int CountRetained(string maildir)
    {
        var retained = Path.Combine(maildir, "restante-retained");
        return Directory.Exists(retained) ? Directory.GetFiles(retained, "*", SearchOption.AllDirectories).Length : 0;
    }

    [Fact]
    public async Task A_policy_file_deleted_or_written_between_two_logins_is_read_afresh_at_the_next()
    {
        // restante-policy is read only when a policy needs it (PolicyStateFile.ReadWhenNeeded), and never remembered
        // between sessions: the same running server sees each change at the next login.
        AddUser("alice");
        await using var server = await StartServerAsync(o => o.LoginDelay = TimeSpan.FromMinutes(10));
        await DeliverAsync(server, "alice", "one");
        var file = Path.Combine(server.MaildirOf("alice"), "restante-policy");
        using (var client = await LoginAsync(server, "alice"))
            await client.DisconnectAsync(quit: true);
        Assert.True(File.Exists(file));
        // Gone: nothing says when she last logged in, so the next login is let in.
        File.Delete(file);
        using (var client = await LoginAsync(server, "alice"))
            await client.DisconnectAsync(quit: true);
        // Written by someone else (a restore, another server) saying she logged in just now: the next login is too soon.
        Time.Advance(TimeSpan.FromMinutes(11));
        File.Delete(file);
        await File.WriteAllTextAsync(file, $"restante-policy 1\nL {Time.GetUtcNow().ToUnixTimeSeconds().ToString(CultureInfo.InvariantCulture)}\n");
        await using var c = await server.ConnectAsync();
        await c.ExpectAsync("+OK");
        await c.SendAsync("USER alice");
        await c.ExpectAsync("+OK");
        await c.SendAsync("PASS pw");
        await c.ExpectAsync("-ERR [LOGIN-DELAY]");
    }

    [Fact]
    public async Task A_policy_file_that_is_a_symlink_is_not_followed_and_is_replaced_not_written_through()
    {
        AddUser("alice");
        await using var server = await StartServerAsync(o => o.LoginDelay = TimeSpan.FromMinutes(10));
        await DeliverAsync(server, "alice", "one");
        // Someone else's file, saying alice logged in just now: read through the link, it would lock her out.
        var elsewhere = Path.Combine(Data.Path, "elsewhere");
        var forged = $"restante-policy 1\nL {Time.GetUtcNow().ToUnixTimeSeconds().ToString(CultureInfo.InvariantCulture)}\n";
        await File.WriteAllTextAsync(elsewhere, forged);
        var link = Path.Combine(server.MaildirOf("alice"), "restante-policy");
        File.CreateSymbolicLink(link, elsewhere);
        using (var client = await LoginAsync(server, "alice"))
            await client.DisconnectAsync(quit: true);
        Assert.Equal(forged, await File.ReadAllTextAsync(elsewhere));
        Assert.Null(new FileInfo(link).LinkTarget);
        Assert.Contains("\nL ", await File.ReadAllTextAsync(link), StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_retention_folder_that_is_a_symlink_refuses_the_deletion_and_removes_nothing()
    {
        AddUser("alice");
        await using var server = await StartServerAsync(_ => { }, retentionDays: 7);
        await DeliverAsync(server, "alice", "one");
        var elsewhere = Path.Combine(Data.Path, "elsewhere");
        Directory.CreateDirectory(elsewhere);
        Directory.CreateSymbolicLink(Path.Combine(server.MaildirOf("alice"), "restante-retained"), elsewhere);
        await using (var c = await server.LoginAsync("alice", "pw"))
        {
            await c.SendAsync("DELE 1");
            await c.ExpectAsync("+OK");
            await c.SendAsync("QUIT");
            await c.ExpectAsync("-ERR [SYS/TEMP]");
        }
        Assert.Empty(Directory.GetFileSystemEntries(elsewhere));
        Assert.Single(server.MessageFiles("alice"));
    }

    [Fact]
    public async Task Restante_purge_removes_what_is_older_than_the_retention_period_and_keeps_the_rest()
    {
        AddUser("alice");
        AddUser("bob");
        // Alice deletes on the test's clock (March 2026), Bob today on the real one.
        await using (var server = await StartServerAsync(_ => { }, retentionDays: 1))
        {
            await DeliverAsync(server, "alice", "old");
            using var client = await LoginAsync(server, "alice");
            await client.DeleteMessageAsync(0);
            await client.DisconnectAsync(quit: true);
        }
        await using (var server = await TestServer.StartAsync(data: Data, configureServer: o => o.Retention.Days = 1))
        {
            await server.Server.Store.DeliverAsync("bob", new MemoryStream("Subject: new\n\nnew\n"u8.ToArray()), CancellationToken.None);
            using var client = await LoginAsync(server, "bob");
            await client.DeleteMessageAsync(0);
            await client.DisconnectAsync(quit: true);
        }
        Assert.Equal(1, CountRetained(Path.Combine(Data.Path, "mail", "alice")));
        Assert.Equal(1, CountRetained(Path.Combine(Data.Path, "mail", "bob")));
        var config = Path.Combine(Data.Path, "restante.json");
        await File.WriteAllTextAsync(config, """{ "Retention": { "Days": 1 } }""");
        var purge = await RunCliAsync("purge", "--data", Data.Path, "--config", config);
        Assert.True(purge.ExitCode == 0, purge.Output);
        Assert.Contains("1 retained messages purged", purge.Output, StringComparison.Ordinal);
        Assert.Equal(0, CountRetained(Path.Combine(Data.Path, "mail", "alice")));
        Assert.Equal(1, CountRetained(Path.Combine(Data.Path, "mail", "bob")));
    }
}
