using System.Collections.Concurrent;

namespace Restante.Storage.InMemory;

/// <summary>
/// Mailboxes held in memory, with the same lock, snapshot and expunge rules as the Maildir store.
/// For tests, fuzzing and throwaway servers: nothing survives the process.
/// </summary>
public sealed class InMemoryMailStore : IMailBackend, IIdempotentDelivery
{
    private readonly ConcurrentDictionary<string, Mailbox> _mailboxes = new(StringComparer.Ordinal);
    private long _nextUid;

    public ValueTask<IMaildrop> OpenAsync(string user, CancellationToken cancellationToken)
    {
        var mailbox = _mailboxes.GetOrAdd(user, static _ => new Mailbox());
        if (Interlocked.CompareExchange(ref mailbox.Locked, 1, 0) != 0)
            throw new MailStoreException(MailStoreErrorKind.InUse, $"Mailbox of {user} is locked.");
        Message[] snapshot;
        lock (mailbox.Messages) snapshot = [.. mailbox.Messages];
        return ValueTask.FromResult<IMaildrop>(new Maildrop(mailbox, snapshot));
    }

    public ValueTask<IReadOnlyList<StoredMessage>> ListAsync(string user, CancellationToken cancellationToken)
    {
        if (!_mailboxes.TryGetValue(user, out var mailbox)) return ValueTask.FromResult<IReadOnlyList<StoredMessage>>([]);
        lock (mailbox.Messages)
            return ValueTask.FromResult<IReadOnlyList<StoredMessage>>(mailbox.Messages.Select(m => new StoredMessage(m.Uid, m.Size)).ToArray());
    }

    public async ValueTask<string> DeliverAsync(string user, Stream message, CancellationToken cancellationToken)
    {
        using var copy = new MemoryStream();
        await message.CopyToAsync(copy, cancellationToken).ConfigureAwait(false);
        return Add(user, copy.ToArray());
    }

    public async ValueTask<string> DeliverOnceAsync(string user, string deliveryId, Stream message, string? uidl, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(deliveryId);
        using var copy = new MemoryStream();
        await message.CopyToAsync(copy, cancellationToken).ConfigureAwait(false);
        var mailbox = _mailboxes.GetOrAdd(user, static _ => new Mailbox());
        lock (mailbox.Messages)
        {
            if (mailbox.Messages.Find(m => m.DeliveryId == deliveryId) is { } known) return known.Uid;
            var uid = uidl ?? NextUid();
            if (mailbox.Messages.Exists(m => m.Uid == uid))
                throw new MailStoreException(MailStoreErrorKind.Permanent, $"Unique-id {uid} is already used in the mailbox of {user}.");
            var content = copy.ToArray();
            mailbox.Messages.Add(new Message(uid, content, Protocol.MessageOctets.Count(content), deliveryId));
            return uid;
        }
    }

    /// <summary>The octets stored for the user: the message lengths as stored.</summary>
    public ValueTask<long> GetUsageAsync(string user, CancellationToken cancellationToken)
    {
        if (!_mailboxes.TryGetValue(user, out var mailbox)) return ValueTask.FromResult(0L);
        lock (mailbox.Messages) return ValueTask.FromResult(mailbox.Messages.Sum(m => (long)m.Content.Length));
    }

    /// <summary>Adds a message as stored bytes; returns its unique-id.</summary>
    public string Add(string user, byte[] content)
    {
        var uid = NextUid();
        var mailbox = _mailboxes.GetOrAdd(user, static _ => new Mailbox());
        lock (mailbox.Messages) mailbox.Messages.Add(new Message(uid, content, Protocol.MessageOctets.Count(content), null));
        return uid;
    }

    /// <summary>The stored messages of a user, oldest first.</summary>
    public IReadOnlyList<byte[]> MessagesOf(string user)
    {
        if (!_mailboxes.TryGetValue(user, out var mailbox)) return [];
        lock (mailbox.Messages) return mailbox.Messages.Select(m => m.Content).ToList();
    }

    private string NextUid() => "m" + Interlocked.Increment(ref _nextUid).ToString(System.Globalization.CultureInfo.InvariantCulture);

    private sealed record Message(string Uid, byte[] Content, long Size, string? DeliveryId);

    private sealed class Mailbox
    {
        public readonly List<Message> Messages = [];
        public int Locked;
    }

    private sealed class Maildrop(Mailbox mailbox, Message[] snapshot) : IMaildrop
    {
        private int _disposed;

        public IReadOnlyList<StoredMessage> Messages { get; } = snapshot.Select(m => new StoredMessage(m.Uid, m.Size)).ToArray();

        public ValueTask<Stream> OpenMessageAsync(int index, CancellationToken cancellationToken)
            => ValueTask.FromResult<Stream>(new MemoryStream(snapshot[index].Content, writable: false));

        public ValueTask<ExpungeResult> ExpungeAsync(IReadOnlyList<int> indexes, CancellationToken cancellationToken)
        {
            var doomed = indexes.Distinct().Select(i => snapshot[i]).ToHashSet();
            lock (mailbox.Messages) mailbox.Messages.RemoveAll(doomed.Contains);
            return ValueTask.FromResult(new ExpungeResult(doomed.Count, 0));
        }

        public ValueTask DisposeAsync()
        {
            if (Interlocked.Exchange(ref _disposed, 1) == 0) Volatile.Write(ref mailbox.Locked, 0);
            return ValueTask.CompletedTask;
        }
    }
}
