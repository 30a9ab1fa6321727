using System.Text;
using Restante.Tests.Infrastructure;

namespace Restante.Tests.Lmtp;

/// <summary>The real server process killed with SIGKILL in the middle of a large LMTP delivery.</summary>
public class LmtpProcessTests
{
    [Fact]
    public async Task SIGKILL_mid_delivery_leaves_no_partial_message_and_the_next_delivery_works()
    {
        using var data = new TempDirectory();
        File.WriteAllText(Path.Combine(data.Path, "passwd"), "alice:{PLAIN}secret\n");
        var maildir = Path.Combine(data.Path, "mail", "alice");
        var line = new string('m', 76) + "\r\n";
        var chunk = Encoding.ASCII.GetBytes(string.Concat(Enumerable.Repeat(line, 64 * 1024 / line.Length)));

        var server = await ServerProcess.StartAsync(data.Path);
        var c = await server.ConnectLmtpAsync();
        await c.ExpectAsync("220 ");
        await c.SendAsync("LHLO client.example");
        await Lmtp.ReadReplyAsync(c);
        await Lmtp.SendMessageAsync(c, "s@example.org", "Subject: warm-up\r\n\r\nsmall\r\n", "alice");
        await c.ExpectAsync("250 2.0.0");
        await c.SendAsync("MAIL FROM:<s@example.org>");
        await c.ExpectAsync("250");
        await c.SendAsync("RCPT TO:<alice>");
        await c.ExpectAsync("250");
        await c.SendAsync("DATA");
        await c.ExpectAsync("354");
        await c.SendAsync("Subject: large");
        await c.SendAsync("");
        // About 3 MB, slowly, of a message meant to be 8 MB; then the server dies mid-stream.
        for (var i = 0; i < 48; i++)
        {
            await c.SendRawAsync(chunk);
            await Task.Delay(10);
        }
        server.Signal("KILL");
        await server.WaitForExitAsync(TimeSpan.FromSeconds(20));
        await server.DisposeAsync();
        c.Abort();

        // Only the warm-up message is visible; no partial file anywhere the POP3 side could see.
        var visible = Directory.GetFiles(Path.Combine(maildir, "new")).Concat(Directory.GetFiles(Path.Combine(maildir, "cur"))).ToList();
        Assert.Contains("warm-up", await File.ReadAllTextAsync(Assert.Single(visible)));
        Assert.Empty(Directory.GetFiles(Path.Combine(maildir, "tmp")));
        Assert.Empty(Lmtp.Files(Path.Combine(data.Path, "spool")));

        await using var restarted = await ServerProcess.StartAsync(data.Path);
        await using var again = await restarted.ConnectLmtpAsync();
        await again.ExpectAsync("220 ");
        await again.SendAsync("LHLO client.example");
        await Lmtp.ReadReplyAsync(again);
        var full = "Subject: large\r\n\r\n" + string.Concat(Enumerable.Repeat(line, 4 * 1024 * 1024 / line.Length));
        await Lmtp.SendMessageAsync(again, "s@example.org", full, "alice");
        await again.ExpectAsync("250 2.0.0");
        var files = Directory.GetFiles(Path.Combine(maildir, "new"));
        Assert.Equal(2, files.Length);
        var large = files.Single(f => new FileInfo(f).Length > 4_000_000);
        // S= is the file's real length: the copy is whole.
        Assert.EndsWith($",S={new FileInfo(large).Length}", large.Split(",W=")[0]);

        await using var pop = await restarted.ConnectAsync();
        await pop.ExpectAsync("+OK");
        await pop.SendAsync("USER alice");
        await pop.ExpectAsync("+OK");
        await pop.SendAsync("PASS secret");
        await pop.ExpectAsync("+OK Logged in, 2 messages");
    }
}
