using System.Collections.Concurrent;

namespace Restante.Storage.InMemory;

/// <summary>
/// Mailboxes held in memory, with the same lock, snapshot and expunge rules as the Maildir store.
/// For tests, fuzzing and throwaway servers: nothing survives the process.
/// </summary>
public sealed class InMemoryMailStore : IMailBackend, IIdempotentDelivery, IMessageRetention
{
    private readonly ConcurrentDictionary<string, Mailbox> _mailboxes = new(StringComparer.Ordinal);
    private readonly TimeProvider _time;
    private readonly bool _retain;
    private long _nextUid;

    public InMemoryMailStore()
        : this(0, null)
    {
    }

    /// <param name="retentionDays">Retention:Days: above 0, expunged messages are kept (unseen by POP3) until purged.</param>
    /// <param name="time">Dates deletions for retention.</param>
    public InMemoryMailStore(int retentionDays, TimeProvider? time)
    {
        _retain = retentionDays > 0;
        _time = time ?? TimeProvider.System;
    }

    public ValueTask<IMaildrop> OpenAsync(string user, CancellationToken cancellationToken)
    {
        var mailbox = _mailboxes.GetOrAdd(user, static _ => new Mailbox());
        if (Interlocked.CompareExchange(ref mailbox.Locked, 1, 0) != 0)
            throw new MailStoreException(MailStoreErrorKind.InUse, $"Mailbox of {user} is locked.");
        Message[] snapshot;
        lock (mailbox.Messages) snapshot = mailbox.Messages.Where(m => m.DeletedAt is null).ToArray();
        return ValueTask.FromResult<IMaildrop>(new Maildrop(this, mailbox, snapshot));
    }

    public ValueTask<IReadOnlyList<StoredMessage>> ListAsync(string user, CancellationToken cancellationToken)
    {
        if (!_mailboxes.TryGetValue(user, out var mailbox)) return ValueTask.FromResult<IReadOnlyList<StoredMessage>>([]);
        lock (mailbox.Messages)
            return ValueTask.FromResult<IReadOnlyList<StoredMessage>>(mailbox.Messages.Where(m => m.DeletedAt is null).Select(m => new StoredMessage(m.Uid, m.Size)).ToArray());
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
        // Retained messages do not count: the user can neither see nor remove them (README, Retention).
        lock (mailbox.Messages) return ValueTask.FromResult(mailbox.Messages.Where(m => m.DeletedAt is null).Sum(m => (long)m.Content.Length));
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
        lock (mailbox.Messages) return mailbox.Messages.Where(m => m.DeletedAt is null).Select(m => m.Content).ToList();
    }

    public ValueTask<int> RestoreAsync(string user, DateTimeOffset? since, CancellationToken cancellationToken)
    {
        if (!_mailboxes.TryGetValue(user, out var mailbox)) return ValueTask.FromResult(0);
        var restored = 0;
        lock (mailbox.Messages)
        {
            foreach (var message in mailbox.Messages)
            {
                if (message.DeletedAt is not { } deleted || (since is { } from && deleted < from)) continue;
                message.DeletedAt = null;
                message.FirstRetrieved = null;
                restored++;
            }
        }
        return ValueTask.FromResult(restored);
    }

    public ValueTask<int> PurgeAsync(DateTimeOffset deletedBefore, CancellationToken cancellationToken)
    {
        var purged = 0;
        foreach (var mailbox in _mailboxes.Values)
            lock (mailbox.Messages) purged += mailbox.Messages.RemoveAll(m => m.DeletedAt < deletedBefore);
        return ValueTask.FromResult(purged);
    }

    private string NextUid() => "m" + Interlocked.Increment(ref _nextUid).ToString(System.Globalization.CultureInfo.InvariantCulture);

    private sealed record Message(string Uid, byte[] Content, long Size, string? DeliveryId)
    {
        public DateTimeOffset? FirstRetrieved { get; set; }

        public DateTimeOffset? DeletedAt { get; set; }
    }

    private sealed class Mailbox
    {
        public readonly List<Message> Messages = [];
        public int Locked;
        public DateTimeOffset? LastLogin;
    }

    private sealed class Maildrop(InMemoryMailStore store, Mailbox mailbox, Message[] snapshot) : IPolicyMaildrop
    {
        private int _disposed;

        public IReadOnlyList<StoredMessage> Messages { get; } = snapshot.Select(m => new StoredMessage(m.Uid, m.Size)).ToArray();

        public ValueTask<Stream> OpenMessageAsync(int index, CancellationToken cancellationToken)
            => ValueTask.FromResult<Stream>(new MemoryStream(snapshot[index].Content, writable: false));

        public ValueTask<ExpungeResult> ExpungeAsync(IReadOnlyList<int> indexes, CancellationToken cancellationToken)
        {
            var doomed = new HashSet<Message>(indexes.Distinct().Select(i => snapshot[i]), ReferenceEqualityComparer.Instance);
            lock (mailbox.Messages)
            {
                if (!store._retain) mailbox.Messages.RemoveAll(doomed.Contains);
                else foreach (var message in doomed) message.DeletedAt ??= store._time.GetUtcNow();
            }
            return ValueTask.FromResult(new ExpungeResult(doomed.Count, 0));
        }

        public DateTimeOffset? LastLogin { get; } = mailbox.LastLogin;

        public DateTimeOffset? FirstRetrieved(int index) => snapshot[index].FirstRetrieved;

        public ValueTask SavePolicyStateAsync(PolicyStateUpdate update, CancellationToken cancellationToken)
        {
            lock (mailbox.Messages)
            {
                if (update.LoginAt is { } login) mailbox.LastLogin = login;
                foreach (var index in update.Retrieved) snapshot[index].FirstRetrieved ??= update.RetrievedAt;
            }
            return ValueTask.CompletedTask;
        }

        public ValueTask DisposeAsync()
        {
            if (Interlocked.Exchange(ref _disposed, 1) == 0) Volatile.Write(ref mailbox.Locked, 0);
            return ValueTask.CompletedTask;
        }
    }
}
