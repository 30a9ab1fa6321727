using Restante.Tests.Infrastructure;

namespace Restante.Tests.Abuse;

/// <summary>A full disk stops deliveries (temporarily) but never reading, deleting or any stored mail.</summary>
public class FullDiskPop3Tests
{
    [SkippableFact]
    public async Task On_a_full_disk_pop3_reads_and_quit_deletes_while_delivery_is_deferred()
    {
        using var mount = new TempDirectory();
        Skip.IfNot(await Tmpfs.TryMountAsync(mount.Path), Tmpfs.CannotMount);
        try
        {
            await using var server = await TestServer.StartAsync(configureServer: o => o.Maildir = Path.Combine(mount.Path, "%u"));
            server.AddUser("alice", "secret");
            var root = Path.Combine(mount.Path, "alice");
            foreach (var sub in new[] { "tmp", "new", "cur" }) Directory.CreateDirectory(Path.Combine(root, sub));
            for (var i = 0; i < 3; i++)
                File.WriteAllText(Path.Combine(root, "new", $"{1_700_000_000 + i}.M{i}.full"), $"Subject: {i}\n\nkeep {i}\n");

            // Fill the file system to the last block.
            var filler = Path.Combine(mount.Path, "filler");
            await using (var fill = File.Create(filler))
            {
                var block = new byte[4096];
                try
                {
                    while (true) await fill.WriteAsync(block);
                }
                catch (IOException)
                {
                    // ENOSPC: the disk is full, which is the point.
                }
            }

            await using (var lmtp = await server.ConnectLmtpAsync())
            {
                await lmtp.ExpectAsync("220");
                await lmtp.SendAsync("LHLO test");
                while ((await lmtp.ReadLineAsync())!.StartsWith("250-", StringComparison.Ordinal)) { }
                await lmtp.SendAsync("MAIL FROM:<s@example.org>");
                await lmtp.ExpectAsync("250");
                await lmtp.SendAsync("RCPT TO:<alice>");
                await lmtp.ExpectAsync("250");
                await lmtp.SendAsync("DATA");
                await lmtp.ExpectAsync("354");
                await lmtp.SendAsync("Subject: new\r\n\r\n" + string.Concat(Enumerable.Repeat(new string('y', 98) + "\r\n", 100)) + ".");
                await lmtp.ExpectAsync("452 4.3.1");
            }

            await using (var c = await server.LoginAsync("alice", "secret"))
            {
                await c.SendAsync("STAT");
                await c.ExpectAsync("+OK 3 ");
                await c.SendAsync("RETR 2");
                await c.ExpectAsync("+OK");
                Assert.Equal(new[] { "Subject: 1", "", "keep 1" }, await c.ReadMultiLineAsync());
                await c.SendAsync("DELE 1");
                await c.ExpectAsync("+OK");
                await c.SendAsync("QUIT");
                await c.ExpectAsync("+OK");
            }
            var left = Directory.GetFiles(Path.Combine(root, "new")).Select(File.ReadAllText).Order().ToList();
            Assert.Equal(new[] { "Subject: 1\n\nkeep 1\n", "Subject: 2\n\nkeep 2\n" }, left);
            Assert.Empty(Directory.GetFiles(Path.Combine(root, "tmp")));
        }
        finally
        {
            await Tmpfs.UnmountAsync(mount.Path);
        }
    }
}
