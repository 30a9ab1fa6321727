using Microsoft.Extensions.Logging.Abstractions;
using Restante.Storage.Maildir;
using Restante.Tests.Infrastructure;
using Restante.Tests.Tls;

namespace Restante.Tests.Migration;

/// <summary>
/// `restante migrate maildir-to-maildir` copies a Maildir Dovecot served into a new one; a run
/// interrupted half-way and run again copies only what is missing, and the copy is served with the
/// UIDLs Dovecot served.
/// </summary>
public class MaildirToMaildirTests
{
    [Fact]
    public async Task An_interrupted_copy_resumes_without_duplicates_and_keeps_Dovecots_UIDLs()
    {
        await using var server = await TestServer.StartAsync(configureServer: o => o.UidlSource = "map");
        server.AddUser("alice", "secret");
        var source = Path.Combine(server.Data.Path, "old", "alice");
        MigrationFixtures.CopyMaildir("dovecot-v3", source);
        var target = server.MaildirOf("alice");

        // First run: interrupted after two messages.
        using (var interrupt = new CancellationTokenSource())
        {
            var store = new MaildirStore(Path.Combine(server.Data.Path, "old", "%u"), new UidlSource(UidlSourceKind.Dovecot, UidlSource.DefaultDovecotFormat), null, NullLogger<MaildirStore>.Instance);
            await Assert.ThrowsAnyAsync<OperationCanceledException>(() =>
                MaildirCopy.CopyAsync(store, "alice", target, copied: n => { if (n == 2) interrupt.Cancel(); }, interrupt.Token));
        }
        Assert.Equal(2, server.MessageFiles("alice").Count);
        Assert.Empty(Directory.GetFiles(Path.Combine(target, "tmp")));

        // Second run, by the command: the rest.
        var (exit, output) = await Processes.RunAsync("dotnet", null, ServerProcess.CliPath, "migrate", "maildir-to-maildir",
            Path.Combine(server.Data.Path, "old", "%u"), target, "alice", "--uidl-source", "dovecot");
        Assert.True(exit == 0, output);
        Assert.Contains("3 messages copied, 2 already", output, StringComparison.Ordinal);

        // A third run copies nothing.
        (exit, output) = await Processes.RunAsync("dotnet", null, ServerProcess.CliPath, "migrate", "maildir-to-maildir", source, target, "alice", "--uidl-source", "dovecot");
        Assert.True(exit == 0, output);
        Assert.Contains("0 messages copied, 5 already", output, StringComparison.Ordinal);

        var names = server.MessageFiles("alice").Select(Path.GetFileName).Order(StringComparer.Ordinal).ToList();
        var sourceNames = Directory.GetFiles(Path.Combine(source, "cur")).Select(Path.GetFileName).Order(StringComparer.Ordinal).ToList();
        Assert.Equal(sourceNames, names);
        var expected = MigrationFixtures.Served("dovecot-v3", "default");
        var served = await MigrationFixtures.FetchAsync(server, "alice", "secret");
        Assert.Equal(expected.Uidl, served.Uidl);
        Assert.Equal(expected.List, served.List);
    }
}
