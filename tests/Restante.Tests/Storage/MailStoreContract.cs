using System.Text;
using Restante.Protocol;
using Restante.Storage;

namespace Restante.Tests.Storage;

/// <summary>
/// What every store promises the POP3 and delivery layers, written once. A store is done when a
/// subclass that only says how to make a fresh, empty store is green (STYLE §14).
/// </summary>
public abstract class MailStoreContract : IAsyncLifetime
{
    private IMailBackend? _store;

    protected IMailBackend Store => _store ?? throw new InvalidOperationException("Not initialised.");

    /// <summary>A fresh store with no mailboxes, used by one test.</summary>
    protected abstract Task<IMailBackend> CreateStoreAsync();

    /// <summary>Releases what <see cref="CreateStoreAsync"/> made (directories, databases).</summary>
    protected virtual Task CleanUpAsync() => Task.CompletedTask;

    public async Task InitializeAsync() => _store = await CreateStoreAsync();

    public async Task DisposeAsync()
    {
        if (_store is IAsyncDisposable disposable) await disposable.DisposeAsync();
        await CleanUpAsync();
    }

    protected ValueTask<string> DeliverAsync(string user, string content)
        => Store.DeliverAsync(user, new MemoryStream(Encoding.Latin1.GetBytes(content)), CancellationToken.None);

    /// <summary>
    /// A delivered message as the store keeps it: as given by default; a store that normalises line ends (Maildir stores
    /// CRLF) says so. Either way the POP3 size and the bytes RETR sends are the same.
    /// </summary>
    protected virtual string AsStored(string delivered) => delivered;

    protected static async Task<byte[]> ReadAllAsync(IMaildrop drop, int index)
    {
        await using var stream = await drop.OpenMessageAsync(index, CancellationToken.None);
        using var copy = new MemoryStream();
        await stream.CopyToAsync(copy);
        return copy.ToArray();
    }

    [ContractFact]
    public async Task A_new_mailbox_opens_empty()
    {
        await using var drop = await Store.OpenAsync("nobody", CancellationToken.None);
        Assert.Empty(drop.Messages);
        Assert.Equal(0, await Store.GetUsageAsync("nobody", CancellationToken.None));
    }

    [ContractFact]
    public async Task The_snapshot_is_fixed_at_open_and_later_mail_shows_next_time()
    {
        await DeliverAsync("alice", "Subject: one\n\nfirst\n");
        await DeliverAsync("alice", "Subject: two\n\nsecond\n");
        await using (var drop = await Store.OpenAsync("alice", CancellationToken.None))
        {
            // Delivery never waits for the session lock, and the session never sees it.
            var late = DeliverAsync("alice", "Subject: three\n\nthird\n").AsTask();
            Assert.Same(late, await Task.WhenAny(late, Task.Delay(TimeSpan.FromSeconds(30))));
            await late;
            Assert.Equal(2, drop.Messages.Count);
            Assert.Equal(AsStored("Subject: two\n\nsecond\n"), Encoding.Latin1.GetString(await ReadAllAsync(drop, 1)));
        }
        await using var next = await Store.OpenAsync("alice", CancellationToken.None);
        Assert.Equal(3, next.Messages.Count);
        Assert.Equal(AsStored("Subject: three\n\nthird\n"), Encoding.Latin1.GetString(await ReadAllAsync(next, 2)));
    }

    [ContractFact]
    public async Task Unique_ids_are_printable_distinct_and_stable_across_sessions()
    {
        var delivered = new List<string>();
        for (var i = 0; i < 5; i++) delivered.Add(await DeliverAsync("alice", $"Subject: {i}\n\nbody {i}\n"));
        string[] first;
        await using (var drop = await Store.OpenAsync("alice", CancellationToken.None))
            first = drop.Messages.Select(m => m.Uid).ToArray();
        // RFC 1939 §7: 1 to 70 characters in the range 0x21 to 0x7E, unique within the maildrop.
        Assert.All(first, uid => Assert.True(uid.Length is >= 1 and <= 70 && uid.All(c => c is >= '!' and <= '~'), uid));
        Assert.Equal(first.Length, first.Distinct().Count());
        Assert.Equal(delivered, first);
        await using (var drop = await Store.OpenAsync("alice", CancellationToken.None))
        {
            Assert.Equal(first, drop.Messages.Select(m => m.Uid));
            Assert.Equal(1, (await drop.ExpungeAsync([1], CancellationToken.None)).Removed);
        }
        await using var after = await Store.OpenAsync("alice", CancellationToken.None);
        // Removing one renumbers the rest but never changes their unique-ids.
        Assert.Equal(first.Where((_, i) => i != 1), after.Messages.Select(m => m.Uid));
    }

    [ContractFact]
    public virtual async Task Sizes_are_the_octets_sent_with_crlf_and_the_bytes_come_back_as_stored()
    {
        var small = "From: a\nSubject: bare LF\n\nline\r\nmixed\nend";
        // Larger than any chunk or buffer a store is likely to use, with lines of odd lengths.
        var large = new StringBuilder("Subject: large\n\n");
        for (var i = 0; large.Length < 700_000; i++) large.Append('x', i % 997).Append(i % 3 == 0 ? "\r\n" : "\n");
        var contents = new[] { small, large.ToString(), "" };
        foreach (var content in contents) await DeliverAsync("alice", content);
        await using var drop = await Store.OpenAsync("alice", CancellationToken.None);
        for (var i = 0; i < contents.Length; i++)
        {
            var bytes = Encoding.Latin1.GetBytes(contents[i]);
            Assert.Equal(MessageOctets.Count(bytes), drop.Messages[i].Size);
            Assert.Equal(Encoding.Latin1.GetBytes(AsStored(contents[i])), await ReadAllAsync(drop, i));
        }
    }

    [ContractFact]
    public async Task A_second_open_is_refused_as_in_use_until_the_first_is_released()
    {
        await DeliverAsync("alice", "Subject: x\n\nx\n");
        var first = await Store.OpenAsync("alice", CancellationToken.None);
        var error = await Assert.ThrowsAsync<MailStoreException>(async () => await Store.OpenAsync("alice", CancellationToken.None));
        Assert.Equal(MailStoreErrorKind.InUse, error.Kind);
        // Another user's mailbox is not affected.
        await using (await Store.OpenAsync("bob", CancellationToken.None))
        {
        }
        await first.DisposeAsync();
        await using var again = await Store.OpenAsync("alice", CancellationToken.None);
        Assert.Single(again.Messages);
    }

    [ContractFact]
    public async Task A_listing_sees_what_a_login_sees_without_taking_the_lock()
    {
        Assert.Empty(await Store.ListAsync("nobody", CancellationToken.None));
        await DeliverAsync("alice", "Subject: 1\n\none\n");
        await DeliverAsync("alice", "Subject: 2\r\n\r\ntwo\r\n");
        await using var drop = await Store.OpenAsync("alice", CancellationToken.None);

        // While a session holds the lock: the same unique-ids and sizes, in message-number order.
        Assert.Equal(drop.Messages, await Store.ListAsync("alice", CancellationToken.None));
        // The session is undisturbed: it still reads, and it still holds the lock.
        Assert.Equal(AsStored("Subject: 1\n\none\n"), Encoding.Latin1.GetString(await ReadAllAsync(drop, 0)));
        var error = await Assert.ThrowsAsync<MailStoreException>(async () => await Store.OpenAsync("alice", CancellationToken.None));
        Assert.Equal(MailStoreErrorKind.InUse, error.Kind);
        // What the session expunges is gone from the next listing.
        await drop.ExpungeAsync([0], CancellationToken.None);
        Assert.Equal([drop.Messages[1]], await Store.ListAsync("alice", CancellationToken.None));
    }

    [ContractFact]
    public async Task A_session_released_without_commit_deletes_nothing()
    {
        await DeliverAsync("alice", "Subject: 1\n\n1\n");
        await DeliverAsync("alice", "Subject: 2\n\n2\n");
        var drop = await Store.OpenAsync("alice", CancellationToken.None);
        _ = await ReadAllAsync(drop, 0);
        await drop.DisposeAsync();
        await using var next = await Store.OpenAsync("alice", CancellationToken.None);
        Assert.Equal(2, next.Messages.Count);
    }

    [ContractFact]
    public async Task Expunge_removes_exactly_the_given_messages()
    {
        var uids = new List<string>();
        for (var i = 0; i < 4; i++) uids.Add(await DeliverAsync("alice", $"Subject: {i}\n\n{i}\n"));
        await using (var drop = await Store.OpenAsync("alice", CancellationToken.None))
        {
            var result = await drop.ExpungeAsync([0, 2, 2], CancellationToken.None);
            Assert.Equal(new ExpungeResult(2, 0), result);
        }
        await using var next = await Store.OpenAsync("alice", CancellationToken.None);
        Assert.Equal([uids[1], uids[3]], next.Messages.Select(m => m.Uid));
        Assert.Equal(AsStored("Subject: 3\n\n3\n"), Encoding.Latin1.GetString(await ReadAllAsync(next, 1)));
    }

    [ContractFact]
    public async Task Mailboxes_are_separate()
    {
        await DeliverAsync("alice", "Subject: a\n\na\n");
        await DeliverAsync("bob", "Subject: b\n\nb\n");
        await DeliverAsync("bob", "Subject: b2\n\nb2\n");
        await using var alice = await Store.OpenAsync("alice", CancellationToken.None);
        await using var bob = await Store.OpenAsync("bob", CancellationToken.None);
        Assert.Single(alice.Messages);
        Assert.Equal(2, bob.Messages.Count);
    }

    [ContractFact]
    public virtual async Task Usage_counts_the_stored_octets_and_drops_with_expunge()
    {
        var one = "Subject: 1\n\n" + new string('a', 1000) + "\n";
        var two = "Subject: 2\n\n" + new string('b', 3000) + "\n";
        await DeliverAsync("alice", one);
        await DeliverAsync("alice", two);
        await DeliverAsync("bob", two);
        Assert.Equal(AsStored(one).Length + AsStored(two).Length, await Store.GetUsageAsync("alice", CancellationToken.None));
        await using (var drop = await Store.OpenAsync("alice", CancellationToken.None))
            await drop.ExpungeAsync([1], CancellationToken.None);
        Assert.Equal(AsStored(one).Length, await Store.GetUsageAsync("alice", CancellationToken.None));
    }

    [ContractFact]
    public virtual async Task A_delivery_id_makes_a_retried_delivery_a_no_op()
    {
        var once = Assert.IsAssignableFrom<IIdempotentDelivery>(Store);
        var uid = await once.DeliverOnceAsync("alice", "queue-1.alice", new MemoryStream("Subject: 1\n\n1\n"u8.ToArray()), null, CancellationToken.None);
        var retried = await once.DeliverOnceAsync("alice", "queue-1.alice", new MemoryStream("Subject: 1\n\n1\n"u8.ToArray()), null, CancellationToken.None);
        Assert.Equal(uid, retried);
        // The same id for another user is another delivery; a given unique-id is kept verbatim.
        await once.DeliverOnceAsync("bob", "queue-1.alice", new MemoryStream("Subject: 1\n\n1\n"u8.ToArray()), null, CancellationToken.None);
        var kept = await once.DeliverOnceAsync("alice", "migrated-7", new MemoryStream("Subject: 2\n\n2\n"u8.ToArray()), "1700000000.M1P2.host", CancellationToken.None);
        Assert.Equal("1700000000.M1P2.host", kept);
        await using var drop = await Store.OpenAsync("alice", CancellationToken.None);
        Assert.Equal([uid, "1700000000.M1P2.host"], drop.Messages.Select(m => m.Uid));
    }
}
