namespace Restante.Networking;

/// <summary>
/// A session's single I/O deadline: armed around each read, flush or handshake and disarmed after.
/// It owns no timer: the shared <see cref="Heartbeat"/> fires it once its time has passed, so arming
/// costs a write and an idle session no timer at all. A server shutdown, an administrator's kick and
/// a takeover fire it too (<see cref="CancelNow"/>), and its token is the session's one cancellation.
/// </summary>
internal sealed class IoDeadline : IDisposable
{
    private const long Disarmed = long.MaxValue;
    // Claimed by the heartbeat as it fires: Disarm sees it and reports the timeout, so a beat that read the due time
    // just before the I/O completed cannot cancel the next command instead (the token is the session's only one).
    private const long Firing = long.MinValue;

    private readonly CancellationTokenSource _source = new();
    private readonly Heartbeat _heartbeat;
    private long _dueAt = Disarmed;

    public IoDeadline(TimeProvider time)
    {
        _heartbeat = Heartbeat.For(time);
        _heartbeat.Add(this);
    }

    public bool Fired => _source.IsCancellationRequested;

    /// <summary>Cancelled when the deadline passes while armed, or by <see cref="CancelNow"/>.</summary>
    public CancellationToken Token => _source.Token;

    /// <summary>Starts the clock; the token is cancelled when <paramref name="after"/> has passed.</summary>
    public CancellationToken Arm(TimeSpan after)
    {
        var ticks = after.TotalSeconds * _heartbeat.TimestampFrequency;
        // Saturating: a deadline hours away must not wrap into the past. Callers pass validated positive timeouts.
        var due = ticks >= long.MaxValue / 2 ? Disarmed - 1 : _heartbeat.Now + Math.Max(1, (long)ticks);
        Volatile.Write(ref _dueAt, due);
        return _source.Token;
    }

    /// <summary>Stops the clock after the I/O completed. The deadline may have fired just as it did: that counts as the timeout it was.</summary>
    public void Disarm()
    {
        var was = Interlocked.Exchange(ref _dueAt, Disarmed);
        if (was == Firing || _source.IsCancellationRequested) throw new OperationCanceledException(_source.Token);
    }

    /// <summary>Called by the heartbeat: fires when armed and due.</summary>
    internal void FireIfDue(long now)
    {
        var due = Volatile.Read(ref _dueAt);
        if (due != Firing && now >= due && Interlocked.CompareExchange(ref _dueAt, Firing, due) == due) CancelNow();
    }

    /// <summary>Fires now, from any thread (a takeover, a kick, a shutdown); a no-op once disposed.</summary>
    public void CancelNow()
    {
        try
        {
            _source.Cancel();
        }
        catch (ObjectDisposedException)
        {
            // The session ended meanwhile: nothing left to stop.
        }
    }

    /// <summary>Makes a server shutdown end the current I/O. Dispose the registration before this deadline.</summary>
    public CancellationTokenRegistration CancelWhen(CancellationToken stopping)
        => stopping.UnsafeRegister(static s => ((IoDeadline)s!).CancelNow(), this);

    public void Dispose()
    {
        _heartbeat.Remove(this);
        _source.Dispose();
    }
}
