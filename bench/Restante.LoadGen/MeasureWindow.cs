namespace Restante.LoadGen;

/// <summary>
/// When the closed-loop modes measure: after a warm-up given in seconds, or after a warm-up given
/// as a number of finished sessions (all workers together), so a slow and a fast server get the same
/// warm-up work rather than the same warm-up time (issue 13: ~190 Dovecot sessions against ~4,600).
/// </summary>
internal sealed class MeasureWindow
{
    /// <summary>A warm-up by sessions that never finishes still ends the run: this long at most.</summary>
    private const double WarmupCapSeconds = 300;

    private readonly long _durationTicks;
    private long _measureFrom;
    private long _deadline;
    private long _warmupLeft;

    private MeasureWindow(long measureFrom, long durationTicks, long warmupSessions)
    {
        _measureFrom = measureFrom;
        _durationTicks = durationTicks;
        _deadline = measureFrom + durationTicks;
        _warmupLeft = warmupSessions;
    }

    public static MeasureWindow AfterSeconds(double warmup, double duration) =>
        new(Clock.Now + Clock.Ticks(warmup), Clock.Ticks(duration), 0);

    public static MeasureWindow AfterSessions(int sessions, double duration) =>
        new(Clock.Now + Clock.Ticks(WarmupCapSeconds), Clock.Ticks(duration), sessions) { WarmupSessions = sessions };

    public int WarmupSessions { get; private init; }

    /// <summary>Warm-up sessions that actually ran before measuring began (the cap may cut them short).</summary>
    public long WarmupSessionsDone => WarmupSessions - Math.Max(0, Interlocked.Read(ref _warmupLeft));

    public long MeasureFrom => Volatile.Read(ref _measureFrom);

    public long Deadline => Volatile.Read(ref _deadline);

    public bool Contains(long t) => t >= MeasureFrom && t <= Deadline;

    /// <summary>Called after every session attempt; the one that ends the warm-up opens the window.</summary>
    public void SessionDone()
    {
        if (Interlocked.Read(ref _warmupLeft) <= 0) return;
        if (Interlocked.Decrement(ref _warmupLeft) != 0) return;
        var now = Clock.Now;
        // Deadline first: a worker that sees the new start must not see the old (earlier) end.
        Volatile.Write(ref _deadline, now + _durationTicks);
        Volatile.Write(ref _measureFrom, now);
    }
}
