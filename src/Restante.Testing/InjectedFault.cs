namespace Restante.Testing;

/// <summary>
/// One fault armed on a <see cref="Pop3TestServer"/>: what it does, whom it touches, and how often it
/// has fired, so a test can assert that its client really met the fault.
/// </summary>
public sealed class InjectedFault
{
    private int _fired;
    private int _remaining;

    internal InjectedFault(string description, string? user, int times)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(times);
        Description = description;
        User = user;
        _remaining = times;
    }

    /// <summary>What the fault does, e.g. "refuse login of alice with [IN-USE]".</summary>
    public string Description { get; }

    /// <summary>The user whose sessions it touches; null: the next sessions, whoever logs in.</summary>
    public string? User { get; }

    /// <summary>How many times the fault has fired so far.</summary>
    public int Fired => Volatile.Read(ref _fired);

    /// <summary>How many more times it will fire (<see cref="int.MaxValue"/>: until the server stops).</summary>
    public int Remaining => Volatile.Read(ref _remaining);

    /// <summary>Stops the fault from firing again; <see cref="Fired"/> keeps its count.</summary>
    public void Disarm() => Interlocked.Exchange(ref _remaining, 0);

    /// <summary>Takes one shot if any are left and the fault applies to <paramref name="user"/>.</summary>
    internal bool TryFire(string? user)
    {
        if (User is not null && !string.Equals(User, user, StringComparison.Ordinal)) return false;
        while (true)
        {
            var left = Volatile.Read(ref _remaining);
            if (left == 0) return false;
            var next = left == int.MaxValue ? left : left - 1;
            if (Interlocked.CompareExchange(ref _remaining, next, left) == left) break;
        }
        Interlocked.Increment(ref _fired);
        return true;
    }

    /// <inheritdoc/>
    public override string ToString() => $"{Description}: fired {Fired} time(s)";
}
