using System.IO.Pipelines;

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

    /// <summary>
    /// How long a session waits in its pipe read before the heartbeat asks it to let its pipes go (it is then released
    /// one to two beats after its last command). A client that answers within milliseconds (a login, a mail client's
    /// poll) never reaches it; a session left open does, and then holds almost nothing (bench/NOTES-engine.md).
    /// </summary>
    public static readonly TimeSpan IdleRelease = TimeSpan.FromSeconds(1);

    private readonly CancellationTokenSource _source = new();
    private readonly Heartbeat _heartbeat;
    private long _dueAt = Disarmed;
    // The pipe read waiting since _waitingSince, which the heartbeat cancels once it has waited IdleRelease; null when
    // no such read is pending (or it was asked already).
    private PipeReader? _waitingRead;
    private long _waitingSince;

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

    /// <summary>
    /// <see cref="Arm"/> for a read through <paramref name="idleRead"/> (null: not to be released): the heartbeat
    /// cancels that read with <see cref="PipeReader.CancelPendingRead"/> once it has waited <see cref="IdleRelease"/>,
    /// and the session then waits without its pipes.
    /// </summary>
    public CancellationToken ArmRead(TimeSpan after, PipeReader? idleRead)
    {
        if (idleRead is not null)
        {
            _waitingSince = _heartbeat.Now;
            // Published after the time it goes with: the heartbeat reads the reader first.
            Volatile.Write(ref _waitingRead, idleRead);
        }
        return Arm(after);
    }

    /// <summary>Stops the clock after the I/O completed. The deadline may have fired just as it did: that counts as the timeout it was.</summary>
    public void Disarm()
    {
        Volatile.Write(ref _waitingRead, null);
        var was = Interlocked.Exchange(ref _dueAt, Disarmed);
        if (was == Firing || _source.IsCancellationRequested) throw new OperationCanceledException(_source.Token);
    }

    /// <summary>Called by the heartbeat: fires when armed and due.</summary>
    internal void FireIfDue(long now)
    {
        var due = Volatile.Read(ref _dueAt);
        if (due != Firing && now >= due && Interlocked.CompareExchange(ref _dueAt, Firing, due) == due) CancelNow();
    }

    /// <summary>
    /// Called by the heartbeat: cancels the pending pipe read of a session that has waited <see cref="IdleRelease"/>.
    /// A read that completed just before is harmless to cancel: the session's next read returns at once, cancelled,
    /// and that session takes the idle path once, early (the pipe reader keeps the cancel for its next read; a reader
    /// already let go ignores it).
    /// </summary>
    internal void ReleaseIfIdle(long now, long idleTicks)
    {
        if (Volatile.Read(ref _waitingRead) is null || now - _waitingSince < idleTicks) return;
        Interlocked.Exchange(ref _waitingRead, null)?.CancelPendingRead();
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
