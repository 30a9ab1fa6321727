using Restante.Tests.Infrastructure;

namespace Restante.Tests.Lmtp;

/// <summary>A full disk under the Maildirs: 452 4.3.1 (temporary), and nothing half-written.</summary>
public class FullDiskTests
{
    [SkippableFact]
    public async Task A_full_disk_gets_452_and_leaves_nothing_behind()
    {
        using var mount = new TempDirectory();
        // A 1 MB tmpfs needs root; elsewhere this test has nothing to run on: a reported skip, not a pass.
        Skip.IfNot(await Tmpfs.TryMountAsync(mount.Path), Tmpfs.CannotMount);
        try
        {
            await using var server = await TestServer.StartAsync(configureServer: o => o.Maildir = Path.Combine(mount.Path, "%u"));
            server.AddUser("alice", "secret");
            var (c, _) = await Lmtp.GreetAsync(server);
            await using var _c = c;
            var big = "Subject: big\r\n\r\n" + string.Concat(Enumerable.Repeat(new string('x', 98) + "\r\n", 20_000));   // 2 MB
            await Lmtp.SendMessageAsync(c, "s@example.org", big, "alice");
            await c.ExpectAsync("452 4.3.1 <alice> Insufficient system storage");
            Assert.Empty(Directory.GetFiles(Path.Combine(mount.Path, "alice", "new")));
            Assert.Empty(Directory.GetFiles(Path.Combine(mount.Path, "alice", "tmp")));

            // The disk was full, not broken: a small message still goes in.
            await Lmtp.SendMessageAsync(c, "s@example.org", Lmtp.Message, "alice");
            await c.ExpectAsync("250 2.0.0");
            Assert.Single(Directory.GetFiles(Path.Combine(mount.Path, "alice", "new")));
        }
        finally
        {
            await Tmpfs.UnmountAsync(mount.Path);
        }
    }

    [SkippableFact]
    public async Task A_full_spool_gets_452_for_every_recipient_and_the_session_goes_on()
    {
        await using var server = await TestServer.StartAsync();
        server.AddUser("alice", "secret");
        server.AddUser("bob", "secret");
        var spool = Path.Combine(server.Data.Path, "spool");
        Directory.CreateDirectory(spool);
        Skip.IfNot(await Tmpfs.TryMountAsync(spool), Tmpfs.CannotMount);
        try
        {
            var (c, _) = await Lmtp.GreetAsync(server);
            await using var _c = c;
            var big = "Subject: big\r\n\r\n" + string.Concat(Enumerable.Repeat(new string('x', 98) + "\r\n", 20_000));
            await Lmtp.SendMessageAsync(c, "s@example.org", big, "alice", "bob");
            await c.ExpectAsync("452 4.3.1 ");
            await c.ExpectAsync("452 4.3.1 ");
            Assert.Empty(server.MessageFiles("alice"));
            await Lmtp.SendMessageAsync(c, "s@example.org", Lmtp.Message, "alice");
            await c.ExpectAsync("250 2.0.0");
        }
        finally
        {
            await Tmpfs.UnmountAsync(spool);
        }
    }
}
