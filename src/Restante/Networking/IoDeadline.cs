namespace Restante.Networking;

/// <summary>
/// A session's single I/O timer: armed around each read, flush or handshake and disarmed after,
/// so one allocation serves the whole connection. A server shutdown fires it too.
/// </summary>
internal sealed class IoDeadline : IDisposable
{
    private readonly CancellationTokenSource _source;

    public IoDeadline(TimeProvider time) => _source = new CancellationTokenSource(Timeout.InfiniteTimeSpan, time);

    public bool Fired => _source.IsCancellationRequested;

    /// <summary>Starts the clock; the token is cancelled when <paramref name="after"/> has passed.</summary>
    public CancellationToken Arm(TimeSpan after)
    {
        _source.CancelAfter(after);
        return _source.Token;
    }

    /// <summary>Stops the clock after the I/O completed. The timer may have fired just as it did: that counts as the timeout it was.</summary>
    public void Disarm()
    {
        _source.CancelAfter(Timeout.InfiniteTimeSpan);
        if (_source.IsCancellationRequested) throw new OperationCanceledException(_source.Token);
    }

    /// <summary>Fires the timer now, from any thread (a takeover ending a stranded session); a no-op once disposed.</summary>
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
        => stopping.UnsafeRegister(static s => ((CancellationTokenSource)s!).Cancel(), _source);

    public void Dispose() => _source.Dispose();
}
