using Restante.Tests.Infrastructure;
using Restante.Tests.Tls;

namespace Restante.Tests.Storage.Mbox;

/// <summary>`restante migrate mbox-to-maildir`, run as a user runs it, including reruns after an interruption.</summary>
public class MboxMigrationTests
{
    [Fact]
    public async Task Copies_a_qpopper_spool_keeping_uidls_and_a_rerun_after_an_interruption_duplicates_nothing()
    {
        using var f = new MboxFixture();
        var bodies = Enumerable.Range(0, 6).Select(i => $"Subject: {i}\n\nbody {i}\n>From quoted\n").ToList();
        f.WriteSpool("alice", string.Concat(bodies.Select((b, i) => MboxFixture.Entry((i == 2 ? "X-UIDL: 00112233445566778899aabbccddeeff\n" : "") + b,
            date: $"Thu Nov 26 10:00:0{i} 2026"))));
        var maildir = Path.Combine(f.StateDirectory + "-target", "Maildir");
        var state = f.StateDirectory;

        async Task<string> MigrateAsync()
        {
            var (code, output) = await Processes.RunAsync("dotnet", null, ServerProcess.CliPath, "migrate", "mbox-to-maildir", f.SpoolOf("alice"), maildir, "--state", state);
            Assert.True(code == 0, output);
            return output;
        }

        Assert.Contains("6 messages, 6 copied now, 0 copied before", await MigrateAsync(), StringComparison.Ordinal);
        var map = File.ReadAllLines(Path.Combine(maildir, "uidl-map"));
        Assert.Equal(6, map.Length);
        Assert.EndsWith(" 00112233445566778899aabbccddeeff", map[2], StringComparison.Ordinal);
        // The same UIDLs the mbox store serves for this spool.
        string[] served;
        await using (var drop = await f.CreateStore().OpenAsync("alice", CancellationToken.None))
            served = drop.Messages.Select(m => m.Uid).ToArray();
        Assert.Equal(served, map.Select(l => l.Split(' ')[1]));
        var files = Directory.GetFiles(Path.Combine(maildir, "new")).OrderBy(p => p, StringComparer.Ordinal).ToArray();
        Assert.Equal(bodies[3].Replace(">From", "From", StringComparison.Ordinal), File.ReadAllText(files[3]));
        foreach (var line in map) Assert.Single(files, p => Path.GetFileName(p).StartsWith(line.Split(' ')[0] + ",", StringComparison.Ordinal));

        // Interrupted: the last two files were renamed into new/ but their map lines never written,
        // and the one before never reached new/ at all.
        File.WriteAllLines(Path.Combine(maildir, "uidl-map"), map[..3]);
        File.Delete(files[3]);
        Assert.Contains("6 messages, 1 copied now, 3 copied before", await MigrateAsync(), StringComparison.Ordinal);
        Assert.Equal(map, File.ReadAllLines(Path.Combine(maildir, "uidl-map")));
        Assert.Equal(6, Directory.GetFiles(Path.Combine(maildir, "new")).Length);

        // Mail that arrived meanwhile is picked up by one more run; nothing else is copied again.
        f.AppendSpool("alice", MboxFixture.Entry("Subject: new\n\nnew\n", date: "Thu Nov 26 11:00:00 2026"));
        Assert.Contains("7 messages, 1 copied now, 6 copied before", await MigrateAsync(), StringComparison.Ordinal);
        Assert.Equal(7, File.ReadAllLines(Path.Combine(maildir, "uidl-map")).Length);
        Assert.Equal(7, Directory.GetFiles(Path.Combine(maildir, "new")).Length);
    }
}
