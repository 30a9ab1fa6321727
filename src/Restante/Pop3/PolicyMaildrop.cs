using Microsoft.Extensions.Logging;
using Restante.Policies;
using Restante.Storage;

namespace Restante.Pop3;

/// <summary>
/// The maildrop as one session under its <see cref="MailboxPolicy"/> sees it. At login, messages whose first
/// retrieval (in an earlier session) is EXPIRE days old or more are removed before the client is shown the list
/// (RFC 2449 §6.7); a message never retrieved is never among them. During the session it notes what RETR sent.
/// When the session ends, by QUIT or not, the login time and the first retrievals go to the store
/// (<see cref="IPolicyMaildrop"/>), while the session still holds the mailbox lock.
/// </summary>
/// <remarks>
/// Only RETR counts as retrieval, not TOP: RFC 2449 §6.7 has EXPIRE 0 delete "each message which was downloaded
/// with RETR", and clients use TOP to look at headers before deciding whether to download, so a message that was
/// only previewed must not go.
/// </remarks>
internal sealed class PolicyMaildrop : IMaildrop, ISeenFlags
{
    private readonly IMaildrop _inner;
    // The inner maildrop's number of each visible message; null when none expired at login (the usual case), so a
    // login on a large mailbox allocates no index of its size.
    private readonly int[]? _visible;
    // Allocated at the first RETR (see MessageMarks).
    private MessageMarks _retrieved;
    private readonly MailboxPolicy _policy;
    private readonly DateTimeOffset _loginAt;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;
    private readonly string _user;

    private PolicyMaildrop(IMaildrop inner, int[]? visible, MailboxPolicy policy, DateTimeOffset loginAt, TimeProvider time, ILogger logger, string user)
    {
        _inner = inner;
        _visible = visible;
        _policy = policy;
        _loginAt = loginAt;
        _time = time;
        _logger = logger;
        _user = user;
        var all = inner.Messages;
        Messages = visible is null ? all : Array.ConvertAll(visible, i => all[i]);
    }

    public MailboxPolicy Policy => _policy;

    public IReadOnlyList<StoredMessage> Messages { get; }

    /// <summary>
    /// RFC 2449 §6.5: true when the mailbox's last login, as the store recorded it, is less than the user's
    /// LOGIN-DELAY ago. A recorded time in the future (a clock set back, a hand-edited state file) does not count.
    /// </summary>
    public static bool IsTooSoon(IPolicyMaildrop maildrop, MailboxPolicy policy, DateTimeOffset now)
        => policy.LoginDelay > TimeSpan.Zero && maildrop.LastLogin is { } last && last <= now && now - last < policy.LoginDelay;

    /// <summary>Removes what has expired and wraps what is left.</summary>
    public static async ValueTask<PolicyMaildrop> StartAsync(IMaildrop inner, MailboxPolicy policy, TimeProvider time, ILogger logger, string user, CancellationToken cancellationToken)
    {
        var now = time.GetUtcNow();
        var expired = new List<int>();
        var state = inner as IPolicyMaildrop;
        if (policy.Expire.Days is { } days && state is not null)
        {
            for (var i = 0; i < inner.Messages.Count; i++)
                if (state.FirstRetrieved(i) is { } first && first.AddDays(days) <= now) expired.Add(i);
        }
        if (expired.Count > 0)
        {
            try
            {
                // ExpireAsync, not ExpungeAsync: the session keeps the mailbox (a PostgreSQL lease must not end here).
                var result = await state!.ExpireAsync(expired, cancellationToken).ConfigureAwait(false);
                Pop3Log.Expired(logger, user, result.Removed, policy.Expire.ToString());
            }
            catch (Exception ex) when (ex is MailStoreException or IOException or UnauthorizedAccessException)
            {
                // Hidden all the same: the client was told they may go; what stayed is tried again next login.
                Pop3Log.StoreFailure(logger, ex, user);
            }
        }
        int[]? visible = null;
        if (expired.Count > 0)
        {
            var hidden = expired.ToHashSet();
            visible = Enumerable.Range(0, inner.Messages.Count).Where(i => !hidden.Contains(i)).ToArray();
        }
        return new PolicyMaildrop(inner, visible, policy, now, time, logger, user);
    }

    public ValueTask<Stream> OpenMessageAsync(int index, CancellationToken cancellationToken)
        => _inner.OpenMessageAsync(Inner(index), cancellationToken);

    public ValueTask<ExpungeResult> ExpungeAsync(IReadOnlyList<int> indexes, CancellationToken cancellationToken)
        => _inner.ExpungeAsync(_visible is null ? indexes : indexes.Select(Inner).ToArray(), cancellationToken);

    /// <summary>RETR sent the whole message.</summary>
    public void MarkRetrieved(int index) => _retrieved.Mark(index, Messages.Count);

    public bool WasRetrieved(int index) => _retrieved.IsMarked(index);

    private int Inner(int index) => _visible is null ? index : _visible[index];

    // The seen flag (LAST, MarkSeenOnQuit) passes through to a store that keeps one, by the store's own numbering.
    public bool IsSeen(int index) => _inner is ISeenFlags flags && flags.IsSeen(Inner(index));

    public ValueTask MarkSeenAsync(IReadOnlyList<int> indexes, CancellationToken cancellationToken)
        => _inner is ISeenFlags flags ? flags.MarkSeenAsync(_visible is null ? indexes : indexes.Select(Inner).ToArray(), cancellationToken) : ValueTask.CompletedTask;

    /// <summary>
    /// What QUIT removes: the messages marked with DELE, and under EXPIRE 0 also every message retrieved with RETR
    /// (RFC 2449 §6.7: "the server MAY assume an implicit DELE for each message which was downloaded with RETR").
    /// </summary>
    public IReadOnlyList<int> ToRemoveAtQuit(IReadOnlyList<int> marked)
    {
        if (_policy.Expire.Days != 0) return marked;
        var all = new SortedSet<int>(marked);
        all.UnionWith(_retrieved.Marked());
        return all.ToList();
    }

    public async ValueTask DisposeAsync()
    {
        try
        {
            if (_policy.NeedsState && _inner is IPolicyMaildrop state)
            {
                var retrieved = _retrieved.Marked();
                for (var i = 0; i < retrieved.Count; i++) retrieved[i] = Inner(retrieved[i]);
                // A crash before this line loses only this session's record: its login counts as none (no delay)
                // and its retrievals as none (nothing expires early). Both err toward the user.
                await state.SavePolicyStateAsync(new PolicyStateUpdate(_loginAt, retrieved, _time.GetUtcNow()), CancellationToken.None).ConfigureAwait(false);
            }
        }
        catch (Exception ex) when (ex is MailStoreException or IOException or UnauthorizedAccessException)
        {
            Pop3Log.StoreFailure(_logger, ex, _user);
        }
        finally
        {
            await _inner.DisposeAsync().ConfigureAwait(false);
        }
    }
}
