using System.Collections.Concurrent;
using System.Runtime.CompilerServices;

namespace Restante.Networking;

/// <summary>
/// One timer for every connection's I/O deadline, as Kestrel's heartbeat: once a second it fires
/// the deadlines that have passed. A timer per connection costs a timer-queue entry each (and a
/// lock on the shared timer queue at every read and flush, where CancelAfter re-arms it); here
/// arming is a write of a number, and an idle session holds only its place in one set.
/// A deadline fires up to <see cref="Interval"/> late: timeouts here are minutes (RFC 1939 §3:
/// at least 10) or seconds at the least, so a second of slack changes nothing a client can tell.
/// </summary>
internal sealed class Heartbeat
{
    public static readonly TimeSpan Interval = TimeSpan.FromSeconds(1);

    // One heartbeat per clock: the server's TimeProvider.System in production, a test's fake clock in tests.
    private static readonly ConditionalWeakTable<TimeProvider, Heartbeat> s_byClock = new();

    private readonly TimeProvider _time;
    private readonly ConcurrentDictionary<IoDeadline, byte> _deadlines = new();
    private readonly ITimer _timer;

    private Heartbeat(TimeProvider time)
    {
        _time = time;
        // Not flowing the creator's ExecutionContext: the first session's log scope would live in the timer forever.
        using (ExecutionContext.SuppressFlow())
            _timer = time.CreateTimer(static s => ((Heartbeat)s!).Beat(), this, Interval, Interval);
    }

    public static Heartbeat For(TimeProvider time)
    {
        if (s_byClock.TryGetValue(time, out var heartbeat)) return heartbeat;
        // GetValue may run its factory twice in a race, and the loser's timer would beat for ever: create under a lock.
        lock (s_byClock) return s_byClock.GetValue(time, static t => new Heartbeat(t));
    }

    public long Now => _time.GetTimestamp();

    public long TimestampFrequency => _time.TimestampFrequency;

    public void Add(IoDeadline deadline) => _deadlines.TryAdd(deadline, 0);

    public void Remove(IoDeadline deadline) => _deadlines.TryRemove(deadline, out _);

    private void Beat()
    {
        var now = _time.GetTimestamp();
        // Enumerating a ConcurrentDictionary is safe while sessions come and go; one missed this beat is seen at the next.
        foreach (var entry in _deadlines)
        {
            try
            {
                entry.Key.FireIfDue(now);
            }
            catch (AggregateException)
            {
                // A callback registered on a session's token threw; the token is cancelled all the same. Thrown out of
                // a timer callback it would end the process, and the other sessions' deadlines must still fire.
            }
        }
    }
}
