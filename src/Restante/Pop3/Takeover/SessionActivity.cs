namespace Restante.Pop3.Takeover;

/// <summary>
/// What a stranded-session takeover needs to know about one session: when its peer last sent a byte, and whether it
/// is waiting for the next command (the only moment it may be ended from outside). The state changes by
/// compare-and-swap, so a command that arrives just as another login decides to take over either runs to the end
/// (the takeover then finds the session busy) or never runs at all (the session finds itself taken over).
/// </summary>
internal sealed class SessionActivity(TimeProvider time)
{
    private const int Busy = 0;
    private const int Waiting = 1;
    private const int TakenOverState = 2;

    private int _state;
    private long _lastInputAt = time.GetTimestamp();

    public bool TakenOver => Volatile.Read(ref _state) == TakenOverState;

    /// <summary>How long the peer has sent nothing.</summary>
    public TimeSpan Silence => time.GetElapsedTime(Interlocked.Read(ref _lastInputAt));

    /// <summary>The session is about to wait for its peer. False when it has already been taken over.</summary>
    public bool BeginWaiting() => Interlocked.CompareExchange(ref _state, Waiting, Busy) != TakenOverState;

    /// <summary>
    /// Bytes arrived (or the read ended). False when the session was taken over while it waited: what arrived is
    /// then not run.
    /// </summary>
    public bool EndWaiting(bool receivedBytes)
    {
        if (receivedBytes) Interlocked.Exchange(ref _lastInputAt, time.GetTimestamp());
        return Interlocked.CompareExchange(ref _state, Busy, Waiting) != TakenOverState;
    }

    /// <summary>
    /// Marks the session taken over when it is waiting for a command and its peer has been silent for at least
    /// <paramref name="idle"/>. A session in the middle of a command (streaming a RETR to a slow link, applying QUIT)
    /// is never taken over: it is not stranded, and ending it could cut an UPDATE in half.
    /// </summary>
    public bool TryTakeOver(TimeSpan idle)
    {
        if (Volatile.Read(ref _state) == TakenOverState) return true;
        if (Silence < idle) return false;
        return Interlocked.CompareExchange(ref _state, TakenOverState, Waiting) == Waiting;
    }
}
