using Restante.Storage;

namespace Restante.Postgres;

/// <summary>A session's leased mailbox: the snapshot read when the lease was taken, and its fencing token.</summary>
internal sealed class PostgresMaildrop : IPolicyMaildrop
{
    private readonly PostgresMailStore _store;
    private readonly long _mailboxId;
    private readonly long _token;
    private readonly IReadOnlyList<PostgresMessage> _rows;
    // Set once the lease is released (by QUIT's expunge or by disposing), so it is released once.
    private int _disposed;
    private PolicyStateUpdate? _policy;

    public PostgresMaildrop(PostgresMailStore store, long mailboxId, long token, IReadOnlyList<PostgresMessage> rows, DateTimeOffset? lastLogin)
    {
        LastLogin = lastLogin;
        _store = store;
        _mailboxId = mailboxId;
        _token = token;
        _rows = rows;
        Messages = rows.Select(r => new StoredMessage(r.Uidl, r.Octets)).ToArray();
    }

    public IReadOnlyList<StoredMessage> Messages { get; }

    public async ValueTask<Stream> OpenMessageAsync(int index, CancellationToken cancellationToken)
    {
        var row = _rows[index];
        var stream = new ChunkedBodyStream(_store, row.BodyId, row.Length);
        // The first chunk is read before RETR says +OK, so a database that is down gives the client
        // -ERR [SYS/TEMP] rather than a connection cut after +OK.
        await stream.FetchFirstAsync(cancellationToken).ConfigureAwait(false);
        return stream;
    }

    private long[] UidsOf(IEnumerable<int> indexes) => indexes.Distinct().Select(i => _rows[i].Uid).ToArray();

    public async ValueTask<ExpungeResult> ExpungeAsync(IReadOnlyList<int> indexes, CancellationToken cancellationToken)
    {
        var removed = await _store.ExpungeAsync(_mailboxId, _token, UidsOf(indexes), cancellationToken).ConfigureAwait(false);
        // The expunge released the lease in its statement: disposing has nothing left to send.
        Interlocked.Exchange(ref _disposed, 1);
        return new ExpungeResult(removed, 0);
    }

    /// <summary>EXPIRE at login: removed under the lease, which the session goes on holding.</summary>
    public async ValueTask<ExpungeResult> ExpireAsync(IReadOnlyList<int> indexes, CancellationToken cancellationToken)
    {
        var removed = await _store.ExpungeAsync(_mailboxId, _token, UidsOf(indexes), cancellationToken, keepLease: true).ConfigureAwait(false);
        return new ExpungeResult(removed, 0);
    }

    public DateTimeOffset? LastLogin { get; }

    public DateTimeOffset? FirstRetrieved(int index) => _rows[index].FirstRetrieved;

    /// <summary>
    /// Kept until the session ends (the server saves the state just before disposing), then sent in the same round trip
    /// as the release of the lease: a session with LOGIN-DELAY or EXPIRE ends with one round trip, not two.
    /// </summary>
    public ValueTask SavePolicyStateAsync(PolicyStateUpdate update, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(update);
        Interlocked.Exchange(ref _policy, update);
        return ValueTask.CompletedTask;
    }

    public ValueTask DisposeAsync()
    {
        var release = Interlocked.Exchange(ref _disposed, 1) == 0;
        var update = Interlocked.Exchange(ref _policy, null);
        if (!release && update is null) return ValueTask.CompletedTask;
        var policy = update is null ? (PostgresMailStore.PolicyState?)null
            : new PostgresMailStore.PolicyState(update.LoginAt, update.Retrieved.Select(i => _rows[i].Uid).ToArray(), update.RetrievedAt);
        return _store.CloseAsync(_mailboxId, release ? _token : null, policy);
    }
}
