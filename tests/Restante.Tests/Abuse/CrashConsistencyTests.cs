using Restante.Tests.Infrastructure;

namespace Restante.Tests.Abuse;

/// <summary>SIGKILL in the middle of QUIT's update phase: nothing that was kept may vanish, and +OK means done.</summary>
public class CrashConsistencyTests(Xunit.Abstractions.ITestOutputHelper output)
{
    private const int Messages = 300;

    [Fact]
    public async Task Killing_the_server_during_quit_never_loses_an_undeleted_message()
    {
        using var data = new TempDirectory();
        File.WriteAllText(Path.Combine(data.Path, "passwd"), "alice:{PLAIN}secret\n");
        var root = Path.Combine(data.Path, "mail", "alice");
        foreach (var sub in new[] { "tmp", "new", "cur" }) Directory.CreateDirectory(Path.Combine(root, sub));
        var random = new Random(20261126);
        var outcomes = new List<string>();

        for (var round = 0; round < 6; round++)
        {
            // Fresh messages each round; their bodies say which they are.
            foreach (var file in Directory.GetFiles(Path.Combine(root, "new"))) File.Delete(file);
            for (var i = 0; i < Messages; i++)
                File.WriteAllText(Path.Combine(root, "new", $"{1_700_000_000 + i}.R{round}M{i}.crash"), $"Subject: {i}\n\nround {round} message {i}\n");

            await using var server = await ServerProcess.StartAsync(data.Path);
            var c = await server.ConnectAsync();
            await c.ExpectAsync("+OK");
            await c.SendAsync("USER alice");
            await c.ExpectAsync("+OK");
            await c.SendAsync("PASS secret");
            await c.ExpectAsync("+OK");
            for (var n = 1; n <= Messages; n += 2)
                await c.SendAsync($"DELE {n}");
            for (var n = 1; n <= Messages; n += 2)
                await c.ExpectAsync("+OK");

            await c.SendAsync("QUIT");
            await Task.Delay(random.Next(0, 25));
            server.Signal("KILL");
            await server.WaitForExitAsync(TimeSpan.FromSeconds(20));
            var reply = await ReadReplyOrNullAsync(c);
            c.Abort();

            var left = Directory.GetFiles(Path.Combine(root, "new")).Concat(Directory.GetFiles(Path.Combine(root, "cur")))
                .Select(File.ReadAllText).ToHashSet();
            for (var i = 0; i < Messages; i++)
            {
                var body = $"Subject: {i}\n\nround {round} message {i}\n";
                var marked = i % 2 == 0;   // message number i+1 is odd
                if (!marked) Assert.Contains(body, left);
                else if (reply?.StartsWith("+OK", StringComparison.Ordinal) == true) Assert.DoesNotContain(body, left);
            }
            Assert.True(left.Count is >= Messages / 2 and <= Messages, $"{left.Count} files left");
            outcomes.Add($"{reply ?? "no reply"}: {left.Count} left");
        }
        // Which moments the kills hit (before, during or after the update) varies with the machine's speed.
        foreach (var outcome in outcomes) output.WriteLine(outcome);
    }

    private static async Task<string?> ReadReplyOrNullAsync(Transcript c)
    {
        try
        {
            return await c.ReadLineAsync();
        }
        catch (IOException)
        {
            return null;
        }
    }
}
