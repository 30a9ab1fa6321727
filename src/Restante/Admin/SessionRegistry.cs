using System.Collections.Concurrent;
using Restante.Pop3;

namespace Restante.Admin;

/// <summary>
/// The POP3 sessions of one server that are running now, for the administrator: a session enters
/// when it starts and leaves once it has ended and released its mailbox. Lookups are lock-free;
/// what they return is a moment's picture.
/// </summary>
public sealed class SessionRegistry
{
    private readonly ConcurrentDictionary<long, LiveSession> _sessions = new();
    private readonly TimeProvider _time;

    public SessionRegistry(TimeProvider? time = null) => _time = time ?? TimeProvider.System;

    public int Count => _sessions.Count;

    /// <summary>Adds the session; disposing the result removes it and completes <see cref="LiveSession.Ended"/>.</summary>
    internal IDisposable Register(Pop3Session session)
    {
        var live = new LiveSession(session, _time.GetUtcNow());
        _sessions[session.Id] = live;
        return new Registration(this, live);
    }

    /// <summary>Every session, oldest first.</summary>
    public IReadOnlyList<LiveSession> List() => _sessions.Values.OrderBy(s => s.Id).ToList();

    public LiveSession? Find(long sessionId) => _sessions.TryGetValue(sessionId, out var live) ? live : null;

    /// <summary>The sessions logged in as <paramref name="user"/> (names match exactly, as logins do).</summary>
    public IReadOnlyList<LiveSession> OfUser(string user)
        => _sessions.Values.Where(s => string.Equals(s.User, user, StringComparison.Ordinal)).OrderBy(s => s.Id).ToList();

    private sealed class Registration(SessionRegistry registry, LiveSession live) : IDisposable
    {
        public void Dispose()
        {
            registry._sessions.TryRemove(new KeyValuePair<long, LiveSession>(live.Id, live));
            live.MarkEnded();
        }
    }
}
