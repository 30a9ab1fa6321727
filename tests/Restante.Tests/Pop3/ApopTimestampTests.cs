using System.Text.RegularExpressions;
using Restante.Pop3;

namespace Restante.Tests.Pop3;

public class ApopTimestampTests
{
    [Fact]
    public async Task Every_timestamp_is_a_msg_id_with_its_own_random_part_across_threads_and_batches()
    {
        // More than one batch of random bits per thread, on several threads at once: no slice is handed out twice.
        var perThread = await Task.WhenAll(Enumerable.Range(0, 4).Select(_ => Task.Run(() =>
            Enumerable.Range(0, 300).Select(_ => ApopTimestamp.Create("mail.example.org")).ToList())));
        var all = perThread.SelectMany(t => t).ToList();

        // RFC 1939 §7 / RFC 822 msg-id: <pid.start.counter.random@host>.
        Assert.All(all, t => Assert.Matches(new Regex(@"^<\d+\.\d+\.\d+\.[0-9a-f]{16}@mail\.example\.org>$"), t));
        Assert.Equal(all.Count, all.Distinct().Count());
        var randomParts = all.Select(t => t.Split('.')[3].Split('@')[0]).ToList();
        Assert.Equal(all.Count, randomParts.Distinct().Count());
    }
}
