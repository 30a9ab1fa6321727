using Restante.Tests.Infrastructure;
using Restante.Tests.Tls;

namespace Restante.Tests.Migration;

/// <summary>
/// `restante import-uidls` against a real Dovecot started by the test: the old server holds the
/// mailbox under its own file names; Restante holds copies under other names, one message more and
/// one fewer. The dry run reports and writes nothing; --write writes the uidl-map, after which
/// Restante (UidlSource=map) serves Dovecot's UIDL for every matched message.
/// </summary>
public class ImportUidlsCommandTests
{
    [SkippableFact]
    public async Task Matches_by_size_and_header_reports_then_writes_and_Restante_serves_Dovecots_UIDLs()
    {
        Skip.If(DovecotServer.MissingReason is not null, DovecotServer.MissingReason);
        await using var restante = await TestServer.StartAsync(configureServer: o => o.UidlSource = "map");
        restante.AddUser("alice", "secret");
        var oldRoot = Path.Combine(restante.Data.Path, "old");
        string Message(int i) => $"From: s{i}@example.com\nSubject: message {i}\nMessage-ID: <{i}@example.com>\n\nbody {i}\n";
        const string Twin = "From: list@example.com\nSubject: digest\n\nsame\n";
        // The old server: messages 1-5 and two identical copies of a digest.
        var oldMaildir = Path.Combine(oldRoot, "alice");
        for (var i = 1; i <= 5; i++) WriteMessage(oldMaildir, $"{1_500_000_000 + i}.old{i}.oldhost", Message(i));
        WriteMessage(oldMaildir, "1500000010.twin1.oldhost", Twin);
        WriteMessage(oldMaildir, "1500000011.twin2.oldhost", Twin);
        // Here: messages 1-4 (copied under new names), 6 (new here), both digests; not 5.
        for (var i = 1; i <= 4; i++) restante.Deliver("alice", Message(i), 1_700_000_000 + i);
        restante.Deliver("alice", Message(6), 1_700_000_006);
        restante.Deliver("alice", Twin, 1_700_000_010);
        restante.Deliver("alice", Twin, 1_700_000_011);

        List<string> oldUids;
        string dryRun, written;
        await using (var dovecot = await DovecotServer.StartAsync(Path.Combine(restante.Data.Path, "dovecot"), oldRoot,
            new Dictionary<string, string> { ["alice"] = "old-secret" }))
        {
            oldUids = (await LiveDovecotTestsFetch(dovecot.Port)).ToList();
            var from = $"pop3://alice@127.0.0.1:{dovecot.Port}";

            var (exit, output) = await Processes.RunAsync("dotnet", "old-secret\n", ServerProcess.CliPath, "import-uidls", "alice", "--from", from, "--insecure", "--data", restante.Data.Path);
            Assert.True(exit == 0, output);
            dryRun = output;
            Assert.False(File.Exists(Path.Combine(restante.MaildirOf("alice"), "uidl-map")), "a dry run writes nothing");

            // Without --insecure a server that offers no STLS gets no password.
            var (refusedExit, refused) = await Processes.RunAsync("dotnet", "old-secret\n", ServerProcess.CliPath, "import-uidls", "alice", "--from", from, "--data", restante.Data.Path);
            Assert.Equal(1, refusedExit);
            Assert.Contains("does not offer STLS", refused, StringComparison.Ordinal);

            var passwordFile = Path.Combine(restante.Data.Path, "old-password");
            File.WriteAllText(passwordFile, "old-secret\n");
            (exit, written) = await Processes.RunAsync("dotnet", null, ServerProcess.CliPath, "import-uidls", "alice", "--from", from, "--insecure", "--password-file", passwordFile, "--write", "--data", restante.Data.Path);
            Assert.True(exit == 0, written);
        }

        Assert.Contains("matched:    6", dryRun, StringComparison.Ordinal);
        Assert.Contains("only there: 1", dryRun, StringComparison.Ordinal);
        Assert.Contains("only here:  1", dryRun, StringComparison.Ordinal);
        Assert.Contains("ambiguous:  0", dryRun, StringComparison.Ordinal);
        Assert.Contains("Dry run", dryRun, StringComparison.Ordinal);
        Assert.Contains("Wrote 6 UIDLs", written, StringComparison.Ordinal);

        var (uidl, _) = await MigrationFixtures.FetchAsync(restante, "alice", "secret");
        var served = uidl.Select(l => l.Split(' ')[1]).ToList();
        // Here, in arrival order: 1, 2, 3, 4, 6, twin, twin. Old order: 1..5, twin1, twin2.
        Assert.Equal(new[] { oldUids[0], oldUids[1], oldUids[2], oldUids[3] }, served.Take(4));
        Assert.DoesNotContain(served[4], oldUids);   // message 6 keeps Restante's own
        Assert.Equal(new[] { oldUids[5], oldUids[6] }, served.Skip(5));
    }

    [Fact]
    public void Unequal_numbers_of_identical_messages_are_ambiguous_and_left_out()
    {
        var hash = Restante.Storage.Maildir.UidlImport.HeaderHash(["Subject: x"]);
        var match = Restante.Storage.Maildir.UidlImport.Match(
            [new(1, "A", 10, hash), new(2, "B", 10, hash)],
            [new("here1", 10, hash)]);
        Assert.Empty(match.Matched);
        Assert.Single(match.Ambiguous);
        Assert.Equal(Restante.Storage.Maildir.UidlImport.HeaderHash(["Subject: x\r", "", "body"]), hash);
    }

    private static void WriteMessage(string maildir, string name, string content)
    {
        foreach (var sub in new[] { "tmp", "new", "cur" }) Directory.CreateDirectory(Path.Combine(maildir, sub));
        File.WriteAllText(Path.Combine(maildir, "new", name), content);
    }

    private static async Task<List<string>> LiveDovecotTestsFetch(int port)
    {
        using var client = new MailKit.Net.Pop3.Pop3Client();
        await client.ConnectAsync("127.0.0.1", port, MailKit.Security.SecureSocketOptions.None);
        await client.AuthenticateAsync("alice", "old-secret");
        var uids = (await client.GetMessageUidsAsync()).ToList();
        await client.DisconnectAsync(quit: true);
        return uids;
    }
}
