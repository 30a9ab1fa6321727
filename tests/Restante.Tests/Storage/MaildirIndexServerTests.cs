using MailKit.Net.Pop3;
using MailKit.Security;
using Restante.Storage.Maildir;
using Restante.Tests.Infrastructure;

namespace Restante.Tests.Storage;

/// <summary>
/// The incremental Maildir index through a real server and a real POP3 client: what LMTP delivers,
/// what another program drops in or removes between two logins, and what a restarted server lists.
/// </summary>
public class MaildirIndexServerTests
{
    private const int Count = MaildirIndex.MinimumEntries + 44;

    private static async Task<(List<string> Uids, List<int> Sizes)> ListAsync(TestServer server)
    {
        using var client = new Pop3Client();
        await client.ConnectAsync("127.0.0.1", server.Port, SecureSocketOptions.None);
        await client.AuthenticateAsync("alice", "secret");
        var uids = (await client.GetMessageUidsAsync()).ToList();
        var sizes = (await client.GetMessageSizesAsync()).ToList();
        await client.DisconnectAsync(true);
        return (uids, sizes);
    }

    [Fact]
    public async Task Deliveries_drops_and_removals_between_logins_and_a_restart_are_all_seen()
    {
        using var data = new TempDirectory();
        List<string> beforeRestart;
        List<int> sizesBeforeRestart;
        string dropped;
        await using (var server = await TestServer.StartAsync(data: data))
        {
            server.AddUser("alice", "secret");
            var files = Enumerable.Range(0, Count).Select(i => server.Deliver("alice", $"Subject: {i}\n\n{new string('b', i)}\n", 1_700_000_000 + i)).ToList();
            var (first, firstSizes) = await ListAsync(server);
            Assert.Equal(Count, first.Count);

            // One through LMTP (the store's own delivery), one dropped in by another program, one removed by hand.
            var (lmtp, _) = await Restante.Tests.Lmtp.Lmtp.GreetAsync(server);
            await using (lmtp)
            {
                await Restante.Tests.Lmtp.Lmtp.SendMessageAsync(lmtp, "bob@example.com", "Subject: lmtp\n\nhello\n", "alice");
                await lmtp.ExpectAsync("250 ");
            }
            dropped = Path.GetFileName(server.Deliver("alice", "Subject: dropped\n\nhi\n", 1_800_000_000));
            File.Delete(files[10]);

            var (second, secondSizes) = await ListAsync(server);

            var expected = first.Where((_, i) => i != 10).ToList();
            Assert.Equal(expected, second.Take(Count - 1));
            Assert.Equal(firstSizes.Where((_, i) => i != 10), secondSizes.Take(Count - 1));
            Assert.Equal(Count + 1, second.Count);
            Assert.Contains(dropped, second);
            beforeRestart = second;
            sizesBeforeRestart = secondSizes;
        }

        await using (var restarted = await TestServer.StartAsync(data: data))
        {
            Assert.True(File.Exists(Path.Combine(restarted.MaildirOf("alice"), SizeIndex.FileName)));
            var (after, afterSizes) = await ListAsync(restarted);
            Assert.Equal(beforeRestart, after);
            Assert.Equal(sizesBeforeRestart, afterSizes);
        }
    }
}
