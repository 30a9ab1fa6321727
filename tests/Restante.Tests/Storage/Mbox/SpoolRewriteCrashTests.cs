using Restante.Storage;

namespace Restante.Tests.Storage.Mbox;

/// <summary>
/// A rewrite stopped at each step (a throw from the fault hook leaves the files exactly as a crash
/// there would): the next login finishes it, and no message that was to be kept is lost.
/// </summary>
public class SpoolRewriteCrashTests
{
    private static readonly string[] Bodies = Enumerable.Range(0, 40).Select(i => $"Subject: {i}\n\n" + new string((char)('a' + i % 26), 3000 + i) + "\n").ToArray();

    private sealed class Crash : Exception;

    [Theory]
    [InlineData("journal-written", false)]
    [InlineData("spool-half-written", false)]
    [InlineData("spool-half-written", true)]
    [InlineData("spool-written", false)]
    [InlineData("spool-written", true)]
    public async Task A_crash_at_any_step_of_quit_loses_nothing(string step, bool mtaAppendsAfterTheCrash)
    {
        using var f = new MboxFixture();
        f.WriteSpool("alice", string.Concat(Bodies.Select((b, i) => MboxFixture.Entry(b, date: $"Thu Nov 26 10:00:{i % 60:00} 2026"))));
        var before = f.ReadSpool("alice");
        var crashing = f.CreateStore();
        string[] uidls;
        await using (var drop = await crashing.OpenAsync("alice", CancellationToken.None))
        {
            uidls = drop.Messages.Select(m => m.Uid).ToArray();
            crashing.FaultHook = s =>
            {
                if (s == step) throw new Crash();
            };
            var deleted = Enumerable.Range(0, Bodies.Length).Where(i => i % 3 == 0).ToList();
            var error = await Assert.ThrowsAnyAsync<Exception>(async () => await drop.ExpungeAsync(deleted, CancellationToken.None));
            Assert.True(error is Crash || error.InnerException is Crash, error.ToString());
        }
        if (step == "spool-half-written") Assert.NotEqual(before, f.ReadSpool("alice"));   // the crash left a damaged spool
        var late = MboxFixture.Entry("Subject: late\n\nlate\n", date: "Thu Nov 26 12:00:00 2026");
        // After a real crash the dotlock stays until it is stale; an MTA that then breaks it appends.
        if (mtaAppendsAfterTheCrash) f.AppendSpool("alice", late);

        await using var next = await f.CreateStore().OpenAsync("alice", CancellationToken.None);
        var kept = Enumerable.Range(0, Bodies.Length).Where(i => i % 3 != 0).ToList();
        var expected = kept.Select(i => Bodies[i]).ToList();
        if (mtaAppendsAfterTheCrash) expected.Add("Subject: late\n\nlate\n");
        var actual = new List<string>();
        for (var i = 0; i < next.Messages.Count; i++) actual.Add(await MboxFixture.ReadAsync(next, i));
        Assert.Equal(expected, actual);
        // The UIDLs of the kept messages did not change.
        Assert.Equal(kept.Select(i => uidls[i]), next.Messages.Take(kept.Count).Select(m => m.Uid));
        Assert.False(File.Exists(Path.Combine(f.StateDirectory, "alice.journal")));
    }
}
