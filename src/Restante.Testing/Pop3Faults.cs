namespace Restante.Testing;

/// <summary>
/// Arms faults on one <see cref="Pop3TestServer"/>. Each method returns the <see cref="InjectedFault"/>, whose
/// <see cref="InjectedFault.Fired"/> count says whether a client met it. Faults scoped to a user touch only that
/// user's sessions; the others touch the next sessions that reach the point where the fault lives.
/// Safe to call while sessions run; faults never leak to another server.
/// </summary>
public sealed class Pop3Faults
{
    private readonly Lock _lock = new();
    private readonly List<(InjectedFault Fault, LoginFailure Failure)> _logins = [];
    private readonly List<(InjectedFault Fault, long AfterBytes)> _drops = [];
    private readonly List<(InjectedFault Fault, int BytesPerSecond)> _throttles = [];
    private readonly List<(InjectedFault Fault, string Command, TimeSpan Delay)> _stalls = [];
    private readonly List<(InjectedFault Fault, long Difference)> _listSizes = [];
    private readonly List<InjectedFault> _stls = [];

    internal Pop3Faults()
    {
    }

    /// <summary>The next <paramref name="times"/> logins of <paramref name="user"/> with the right password are refused with <paramref name="failure"/>.</summary>
    public InjectedFault RefuseLogin(string user, LoginFailure failure, int times = 1)
        => Add(_logins, new InjectedFault($"refuse login of {user} with [{Code(failure)}]", Required(user), times), failure);

    /// <summary>
    /// RETR or TOP of <paramref name="user"/> sends <paramref name="afterBytes"/> octets of the message, then the connection
    /// is closed without the terminating dot, as when a server crashes or a link drops mid-message.
    /// </summary>
    public InjectedFault DropConnectionDuringRetr(string user, long afterBytes, int times = 1)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(afterBytes);
        return Add(_drops, new InjectedFault($"drop {user}'s connection after {afterBytes} octets of a message", Required(user), times), afterBytes);
    }

    /// <summary>
    /// Every session of <paramref name="user"/>, from its PASS (or, after APOP/AUTH, its first command after login) on, gets at most <paramref name="bytesPerSecond"/>.
    /// <see cref="InjectedFault.Fired"/> counts the sessions slowed down.
    /// </summary>
    public InjectedFault Throttle(string user, int bytesPerSecond)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(bytesPerSecond);
        return Add(_throttles, new InjectedFault($"throttle {user} to {bytesPerSecond} bytes/s", Required(user), int.MaxValue), bytesPerSecond);
    }

    /// <summary>The reply to the next <paramref name="times"/> <paramref name="command"/>s ("RETR", "PASS", …) of <paramref name="user"/> comes <paramref name="delay"/> late.</summary>
    public InjectedFault StallReply(string user, string command, TimeSpan delay, int times = 1)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(command);
        ArgumentOutOfRangeException.ThrowIfLessThan(delay, TimeSpan.Zero);
        var verb = command.Trim().ToUpperInvariant();
        return Add(_stalls, new InjectedFault($"stall the reply to {verb} of {user} by {delay.TotalMilliseconds} ms", Required(user), times), (verb, delay));
    }

    /// <summary>
    /// LIST tells <paramref name="user"/>'s sessions each message is <paramref name="difference"/> octets larger (or smaller) than
    /// RETR then sends; RFC 1939 §11 warns clients the listed size is only an estimate. Counts every entry misreported.
    /// </summary>
    public InjectedFault MisreportListSize(string user, long difference)
        => Add(_listSizes, new InjectedFault($"misreport LIST sizes of {user} by {difference} octets", Required(user), int.MaxValue), difference);

    /// <summary>The next <paramref name="times"/> sessions that send STLS are disconnected instead of answered.</summary>
    public InjectedFault DisconnectOnStls(int times = 1)
    {
        var fault = new InjectedFault("disconnect on STLS", null, times);
        lock (_lock) _stls.Add(fault);
        return fault;
    }

    /// <summary>Every fault armed so far, fired or not.</summary>
    public IReadOnlyList<InjectedFault> All
    {
        get
        {
            lock (_lock)
            {
                return _logins.Select(f => f.Fault).Concat(_drops.Select(f => f.Fault)).Concat(_throttles.Select(f => f.Fault))
                    .Concat(_stalls.Select(f => f.Fault)).Concat(_listSizes.Select(f => f.Fault)).Concat(_stls).ToList();
            }
        }
    }

    internal LoginFailure? TakeLoginFailure(string user) => Take(_logins, user, out var failure) ? failure : null;

    internal long? TakeDrop(string user) => Take(_drops, user, out var after) ? after : null;

    /// <summary>The mark of the drop that would fire next for <paramref name="user"/>, without firing it.</summary>
    internal long? PeekDrop(string user)
    {
        lock (_lock)
        {
            foreach (var (fault, after) in _drops)
                if (fault.Remaining > 0 && fault.User == user) return after;
        }
        return null;
    }

    internal int? TakeThrottle(string user) => Take(_throttles, user, out var rate) ? rate : null;

    internal TimeSpan TakeStall(string? user, string command)
    {
        lock (_lock)
        {
            foreach (var (fault, verb, delay) in _stalls)
                if (verb == command && user is not null && fault.TryFire(user)) return delay;
        }
        return TimeSpan.Zero;
    }

    internal long ListedSize(string? user, long size)
    {
        if (user is null) return size;
        lock (_lock)
        {
            foreach (var (fault, difference) in _listSizes)
                if (fault.TryFire(user)) return Math.Max(0, size + difference);
        }
        return size;
    }

    internal bool TakeStlsDisconnect()
    {
        lock (_lock)
        {
            foreach (var fault in _stls)
                if (fault.TryFire(null)) return true;
        }
        return false;
    }

    private InjectedFault Add<T>(List<(InjectedFault, T)> list, InjectedFault fault, T value)
    {
        lock (_lock) list.Add((fault, value));
        return fault;
    }

    private InjectedFault Add(List<(InjectedFault, string, TimeSpan)> list, InjectedFault fault, (string Verb, TimeSpan Delay) value)
    {
        lock (_lock) list.Add((fault, value.Verb, value.Delay));
        return fault;
    }

    private bool Take<T>(List<(InjectedFault Fault, T Value)> list, string? user, out T value)
    {
        lock (_lock)
        {
            foreach (var (fault, v) in list)
            {
                if (fault.TryFire(user))
                {
                    value = v;
                    return true;
                }
            }
        }
        value = default!;
        return false;
    }

    private static string Required(string user)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(user);
        return user;
    }

    internal static string Code(LoginFailure failure) => failure switch
    {
        LoginFailure.InUse => "IN-USE",
        LoginFailure.LoginDelay => "LOGIN-DELAY",
        LoginFailure.SysTemp => "SYS/TEMP",
        _ => "AUTH",
    };
}
