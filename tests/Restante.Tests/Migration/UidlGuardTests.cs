using Restante.Tests.Infrastructure;
using Restante.Tests.Tls;

namespace Restante.Tests.Migration;

/// <summary>
/// Once a client has seen a mailbox's UIDLs, a configuration change that would change them is
/// refused at start, with the reason and the way out; --accept-uidl-change lets it through once.
/// </summary>
public class UidlGuardTests
{
    [Fact]
    public async Task A_changed_source_is_refused_after_UIDLs_were_served_and_accepted_with_the_flag()
    {
        using var data = new TempDirectory();
        var first = await TestServer.StartAsync(data: data, configureServer: o => o.UidlSource = "dovecot");
        first.AddUser("alice", "secret");
        MigrationFixtures.CopyMaildir("dovecot-v3", first.MaildirOf("alice"));
        var served = await MigrationFixtures.FetchAsync(first, "alice", "secret");
        await first.Server.DisposeAsync();   // the server only: the data directory stays

        Assert.Equal("dovecot %08Xu%08Xv", Restante.Storage.Maildir.UidlGuard.ReadRecorded(data.Path));

        var refused = await Assert.ThrowsAsync<InvalidOperationException>(() => TestServer.StartAsync(data: data, configureServer: o => o.UidlSource = "native"));
        Assert.Contains("'dovecot %08Xu%08Xv'", refused.Message, StringComparison.Ordinal);
        Assert.Contains("--accept-uidl-change", refused.Message, StringComparison.Ordinal);
        // The format is part of what was served.
        await Assert.ThrowsAsync<InvalidOperationException>(() => TestServer.StartAsync(data: data, configureServer: o =>
        {
            o.UidlSource = "dovecot";
            o.DovecotUidlFormat = "%v.%u";
        }));

        // The same configuration starts and serves the same UIDLs.
        var again = await TestServer.StartAsync(data: data, configureServer: o => o.UidlSource = "dovecot");
        Assert.Equal(served.Uidl, (await MigrationFixtures.FetchAsync(again, "alice", "secret")).Uidl);
        await again.Server.DisposeAsync();

        // Accepted: starts, records the new source, and the next plain start goes through.
        var accepted = await TestServer.StartAsync(data: data, configureServer: o => o.AcceptUidlChange = true);
        Assert.Equal("native", Restante.Storage.Maildir.UidlGuard.ReadRecorded(data.Path));
        Assert.Contains(accepted.Logs.Lines, l => l.Contains("UIDL source changed from 'dovecot %08Xu%08Xv' to 'native'", StringComparison.Ordinal));
        await accepted.Server.DisposeAsync();
        await using var plain = await TestServer.StartAsync(data: new TempDirectory(), configureServer: o => o.UidlSource = "native");
    }

    [Fact]
    public async Task Nothing_is_recorded_before_a_mailbox_is_opened()
    {
        using var data = new TempDirectory();
        var first = await TestServer.StartAsync(data: data, configureServer: o => o.UidlSource = "courier");
        await first.Server.DisposeAsync();
        Assert.Null(Restante.Storage.Maildir.UidlGuard.ReadRecorded(data.Path));
        var second = await TestServer.StartAsync(data: data, configureServer: o => o.UidlSource = "map");
        await second.Server.DisposeAsync();
    }

    [Fact]
    public async Task The_serve_command_explains_the_refusal_and_takes_the_flag()
    {
        using var data = new TempDirectory();
        File.WriteAllText(Path.Combine(data.Path, "uidl-source"), "# recorded\ncourier\n");

        var (exit, output) = await Processes.RunAsync("dotnet", null, ServerProcess.CliPath, "serve", "--data", data.Path, "--pop3", "127.0.0.1:0", "--lmtp", "", "--pop3s", "127.0.0.1:0");
        Assert.Equal(1, exit);
        Assert.Contains("Cannot start: the UIDLs clients have seen came from UidlSource 'courier'", output, StringComparison.Ordinal);

        await using var server = await ServerProcess.StartAsync(data.Path, null, "--accept-uidl-change");
        Assert.Equal("native", Restante.Storage.Maildir.UidlGuard.ReadRecorded(data.Path));
    }
}
