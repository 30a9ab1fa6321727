using System.Diagnostics;
using Restante.Storage;
using Restante.Storage.Mbox;

namespace Restante.Tests.Storage.Mbox;

/// <summary>The spool is the user's file: what they put there gets a refusal, never a crash, a hang or a read elsewhere.</summary>
public class HostileSpoolTests
{
    private static async Task<MailStoreException> RefusedAsync(MboxStore store, string user = "alice")
        => await Assert.ThrowsAsync<MailStoreException>(async () => await store.OpenAsync(user, CancellationToken.None));

    [Fact]
    public async Task A_symlinked_spool_is_refused_and_its_target_left_alone()
    {
        using var f = new MboxFixture();
        var target = Path.Combine(f.StateDirectory + "-elsewhere");
        Directory.CreateDirectory(target);
        File.WriteAllText(Path.Combine(target, "secret"), MboxFixture.Entry("Subject: secret\n\nsecret\n"));
        File.CreateSymbolicLink(f.SpoolOf("alice"), Path.Combine(target, "secret"));
        var store = f.CreateStore();
        Assert.Equal(MailStoreErrorKind.Permanent, (await RefusedAsync(store)).Kind);
        await Assert.ThrowsAsync<MailStoreException>(async () => await store.DeliverAsync("alice", new MemoryStream("Subject: x\n\nx\n"u8.ToArray()), CancellationToken.None));
        Assert.Equal(MboxFixture.Entry("Subject: secret\n\nsecret\n"), File.ReadAllText(Path.Combine(target, "secret")));
    }

    [Fact]
    public async Task A_fifo_or_directory_as_spool_is_refused_without_hanging()
    {
        using var f = new MboxFixture();
        using (var mkfifo = Process.Start("mkfifo", [f.SpoolOf("alice")])) await mkfifo.WaitForExitAsync();
        Directory.CreateDirectory(f.SpoolOf("bob"));
        var store = f.CreateStore();
        var open = RefusedAsync(store);
        Assert.Same(open, await Task.WhenAny(open, Task.Delay(TimeSpan.FromSeconds(30))));
        Assert.Equal(MailStoreErrorKind.Permanent, (await open).Kind);
        Assert.Equal(MailStoreErrorKind.Permanent, (await RefusedAsync(store, "bob")).Kind);
    }

    [Fact]
    public async Task A_spool_that_is_not_an_mbox_is_refused()
    {
        using var f = new MboxFixture();
        f.WriteSpool("alice", "Subject: no From line\n\nbody\n");
        Assert.Equal(MailStoreErrorKind.Permanent, (await RefusedAsync(f.CreateStore())).Kind);
    }

    [Fact]
    public async Task A_spool_over_the_size_limit_is_refused_without_being_read()
    {
        using var f = new MboxFixture();
        f.WriteSpool("alice", MboxFixture.Entry("Subject: x\n\nx\n"));
        // Sparse: 8 GiB on paper, nothing on disk.
        using (var file = new FileStream(f.SpoolOf("alice"), FileMode.Open)) file.SetLength(8L << 30);
        var error = await RefusedAsync(f.CreateStore(maxSpoolSize: 1L << 30));
        Assert.Equal(MailStoreErrorKind.Permanent, error.Kind);
        Assert.Contains("MaxSpoolSize", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Binary_junk_and_endless_lines_in_a_message_are_served_not_crashed_on()
    {
        using var f = new MboxFixture();
        var junk = new byte[300_000];
        new Random(14).NextBytes(junk);
        for (var i = 0; i < junk.Length; i++) if (junk[i] == (byte)'\n') junk[i] = (byte)'x';
        var content = "From a@b Thu Nov 26 10:00:00 2026\nSubject: junk\n\n" + System.Text.Encoding.Latin1.GetString(junk) + new string('>', 200_000) + "From x\n\n";
        f.WriteSpool("alice", content);
        await using var drop = await f.CreateStore().OpenAsync("alice", CancellationToken.None);
        Assert.Single(drop.Messages);
        var back = await MboxFixture.ReadAsync(drop, 0);
        Assert.Equal(drop.Messages[0].Size, Restante.Protocol.MessageOctets.Count(System.Text.Encoding.Latin1.GetBytes(back)));
        Assert.EndsWith(new string('>', 199_999) + "From x\n", back, StringComparison.Ordinal);
    }
}
