using MailKit.Net.Pop3;
using MailKit.Security;
using Microsoft.Extensions.Time.Testing;
using Restante.Storage.Maildir;
using Restante.Tests.Infrastructure;

namespace Restante.Tests.Storage;

/// <summary>
/// Small mailboxes (the bench's 20-message users) are kept in the index's memory, so a login whose folders did not
/// change lists nothing. Through a real server and a real POP3 client: every change between two logins is still seen,
/// and the memory budget drops small listings without losing anything.
/// </summary>
public class SmallMaildirIndexTests
{
    private const int Count = 20;

    /// <summary>A real server over a store whose clock is an hour ahead, so every folder counts as settled at once.</summary>
    private sealed class Setup : IAsyncDisposable
    {
        public required TempDirectory Data { get; init; }
        public required MaildirStore Store { get; init; }
        public required TestServer Server { get; init; }
        public required List<string> Files { get; init; }

        public static async Task<Setup> StartAsync(MaildirIndex? index = null, params string[] users)
        {
            if (users.Length == 0) users = ["alice"];
            var data = new TempDirectory();
            TestServer? server = null;
            try
            {
                var store = new MaildirStore(Path.Combine(data.Path, "mail", "%u"), null, fsync: false, new FakeTimeProvider(DateTimeOffset.UtcNow.AddHours(1)), index: index);
                server = await TestServer.StartAsync(data: data, store: store);
                var files = new List<string>();
                foreach (var user in users)
                {
                    server.AddUser(user, "secret");
                    for (var i = 0; i < Count; i++) files.Add(server.Deliver(user, $"Subject: {i}\n\n{new string('b', i)}\n", 1_700_000_000 + i));
                }
                return new Setup { Data = data, Store = store, Server = server, Files = files };
            }
            catch
            {
                // Nobody gets a Setup to dispose: the server that started and the directory go here, and the failure goes on.
                if (server is not null) await server.DisposeAsync();
                data.Dispose();
                throw;
            }
        }

        public string MaildirOf(string user) => Server.MaildirOf(user);

        public async ValueTask DisposeAsync()
        {
            await Server.DisposeAsync();
            Data.Dispose();
        }
    }

    // The store's clock is an hour ahead, so every folder counts as settled at once and a change is seen only through
    // the folder's times. Where those have the kernel's clock-tick resolution (before multigrain timestamps, or on NFS),
    // a change in the same tick as the login's reading of them would leave them as they were; a few ticks between the
    // two make every change here one the times show.
    private static Task PastOneClockTickAsync() => Task.Delay(50);

    private static async Task<(List<string> Uids, List<int> Sizes)> ListAsync(Setup setup, string user = "alice", int? delete = null)
    {
        using var client = new Pop3Client();
        await client.ConnectAsync("127.0.0.1", setup.Server.Port, SecureSocketOptions.None);
        await client.AuthenticateAsync(user, "secret");
        var uids = (await client.GetMessageUidsAsync()).ToList();
        var sizes = (await client.GetMessageSizesAsync()).ToList();
        if (delete is { } index)
        {
            await PastOneClockTickAsync();
            await client.DeleteMessageAsync(index);
        }
        // QUIT: RFC 1939 §6, the UPDATE state removes what DELE marked.
        await client.DisconnectAsync(true);
        await PastOneClockTickAsync();
        return (uids, sizes);
    }

    [Fact]
    public async Task A_small_mailbox_is_kept_in_memory_only_and_an_unchanged_login_lists_nothing()
    {
        await using var setup = await Setup.StartAsync();
        var (first, firstSizes) = await ListAsync(setup);
        var listedByFirst = setup.Store.Index.FoldersListed;

        var (second, secondSizes) = await ListAsync(setup);

        Assert.Equal(Count, first.Count);
        Assert.Equal(first, second);
        Assert.Equal(firstSizes, secondSizes);
        Assert.Equal(2, listedByFirst);
        Assert.Equal(listedByFirst, setup.Store.Index.FoldersListed);
        Assert.Contains(setup.MaildirOf("alice"), setup.Store.Index.Kept);
        // Memory only: no listing file in the user's Maildir.
        Assert.False(File.Exists(Path.Combine(setup.MaildirOf("alice"), ListingFile.FileName)));
    }

    [Fact]
    public async Task A_message_dropped_into_new_between_two_logins_shows_up()
    {
        await using var setup = await Setup.StartAsync();
        var (first, _) = await ListAsync(setup);
        // Another program's delivery (Postfix's local(8): tmp/, then a rename into new/).
        var dropped = Path.GetFileName(setup.Server.Deliver("alice", "Subject: dropped\n\nhi\n", 1_800_000_000));

        var (second, sizes) = await ListAsync(setup);

        Assert.Equal([.. first, dropped], second);
        Assert.Equal("Subject: dropped\r\n\r\nhi\r\n".Length, sizes[^1]);
    }

    [Fact]
    public async Task A_message_our_lmtp_delivered_between_two_logins_shows_up()
    {
        await using var setup = await Setup.StartAsync();
        var (first, _) = await ListAsync(setup);
        var (lmtp, _) = await Restante.Tests.Lmtp.Lmtp.GreetAsync(setup.Server);
        await using (lmtp)
        {
            await Restante.Tests.Lmtp.Lmtp.SendMessageAsync(lmtp, "bob@example.com", "Subject: lmtp\n\nhello\n", "alice");
            await lmtp.ExpectAsync("250 ");
        }

        var (second, _) = await ListAsync(setup);

        Assert.Equal(Count + 1, second.Count);
        Assert.Equal(first, second.Take(Count));
    }

    [Fact]
    public async Task A_message_removed_by_another_program_between_two_logins_disappears()
    {
        await using var setup = await Setup.StartAsync();
        // One a mail client had moved to cur/ before the first login, so both folders are watched.
        File.Move(setup.Files[7], Path.Combine(setup.MaildirOf("alice"), "cur", Path.GetFileName(setup.Files[7]) + ":2,S"));
        var (first, _) = await ListAsync(setup);
        File.Delete(setup.Files[3]);
        File.Delete(Path.Combine(setup.MaildirOf("alice"), "cur", Path.GetFileName(setup.Files[7]) + ":2,S"));

        var (second, _) = await ListAsync(setup);

        Assert.Equal(first.Where((_, i) => i is not 3 and not 7), second);
    }

    [Fact]
    public async Task A_message_another_client_moved_to_cur_between_two_logins_keeps_its_place_and_uid()
    {
        await using var setup = await Setup.StartAsync();
        var (first, firstSizes) = await ListAsync(setup);
        var moved = setup.Files[5];
        File.Move(moved, Path.Combine(setup.MaildirOf("alice"), "cur", Path.GetFileName(moved) + ":2,S"));

        var (second, secondSizes) = await ListAsync(setup);

        Assert.Equal(first, second);
        Assert.Equal(firstSizes, secondSizes);
    }

    [Fact]
    public async Task A_folder_swapped_for_another_directory_between_two_logins_is_listed_afresh()
    {
        await using var setup = await Setup.StartAsync();
        await ListAsync(setup);
        // The folders are not opened by a login that finds them unchanged (their stamps are read by name): another
        // directory put in new/'s place, with other messages, must not pass for the folder listed before.
        var maildir = setup.MaildirOf("alice");
        var other = Path.Combine(maildir, "other");
        Directory.CreateDirectory(other);
        File.WriteAllText(Path.Combine(other, "1750000000.P1Q1.elsewhere"), "Subject: other\n\nx\n");
        Directory.Move(Path.Combine(maildir, "new"), Path.Combine(maildir, "old"));
        Directory.Move(other, Path.Combine(maildir, "new"));

        var (second, _) = await ListAsync(setup);

        Assert.Equal(["1750000000.P1Q1.elsewhere"], second);
    }

    [Fact]
    public async Task An_expunge_at_QUIT_is_reflected_at_the_next_login()
    {
        await using var setup = await Setup.StartAsync();
        var (first, _) = await ListAsync(setup, delete: 0);

        var (second, _) = await ListAsync(setup);

        Assert.Equal(first.Skip(1), second);
        Assert.False(File.Exists(setup.Files[0]));
    }

    [Fact]
    public async Task The_budget_evicts_small_listings_and_an_evicted_mailbox_is_listed_afresh()
    {
        string[] users = ["a", "b", "c", "d", "e"];
        long one;
        await using (var probe = await Setup.StartAsync(null, "a"))
        {
            await ListAsync(probe, "a");
            one = probe.Store.Index.Bytes;
        }
        Assert.InRange(one, 1_000, 8_000);
        // Room for two and a half.
        var index = new MaildirIndex(one * 2 + one / 2);
        await using var setup = await Setup.StartAsync(index, users);

        foreach (var user in users) Assert.Equal(Count, (await ListAsync(setup, user)).Uids.Count);

        Assert.True(index.Bytes <= index.MaxBytes, $"{index.Bytes} > {index.MaxBytes}");
        Assert.Equal(new[] { setup.MaildirOf("d"), setup.MaildirOf("e") }.Order(), index.Kept.Order());
        // "a" was dropped: a message dropped into it meanwhile is found by listing it as a first login would.
        var dropped = Path.GetFileName(setup.Server.Deliver("a", "Subject: dropped\n\nhi\n", 1_800_000_000));
        var listedBefore = index.FoldersListed;
        var (again, _) = await ListAsync(setup, "a");
        Assert.Equal(Count + 1, again.Count);
        Assert.Equal(dropped, again[^1]);
        Assert.Equal(listedBefore + 2, index.FoldersListed);
        Assert.Contains(setup.MaildirOf("a"), index.Kept);
        Assert.True(index.Bytes <= index.MaxBytes, $"{index.Bytes} > {index.MaxBytes}");
    }
}
