using Microsoft.Extensions.Logging;

namespace Restante.Networking;

/// <summary>
/// Enforces the busy share of the descriptor budget (<see cref="FileDescriptorLimit.BusyShareDivisor"/>): a POP3
/// command that opens folders or message files beyond the idle session's two descriptors takes a slot for as long as
/// it holds them. Without it a client with many sessions, each starting a RETR of a large message and then not
/// reading, holds three descriptors per session until WriteTimeout and can take the process to EMFILE, where the
/// runtime cannot start a thread and aborts. A command that finds no slot free within <see cref="Wait"/> is refused
/// with [SYS/TEMP] (RFC 3206 §4: a temporary condition, worth retrying) and its session lives on.
/// </summary>
/// <remarks>
/// A slot is held for a whole message, not per chunk: the message's descriptor stays open from the first chunk to the
/// last (and a sendfile is one call), so a slot given back between chunks would no longer bound descriptors. What
/// bounds the hold is <see cref="HoldLimit"/>: the write timeout (one stall, as for any reply) plus the message's
/// size at <see cref="MinimumSendRate"/>. Each flush alone is bounded by the write timeout, but a client reading just
/// fast enough to finish every flush in time would otherwise hold a slot for hours on a large message, and a quarter
/// of MaxConnections such clients would make every RETR, login and QUIT of everybody else wait and be refused.
/// </remarks>
internal sealed partial class CommandDescriptorGate
{
    /// <summary>
    /// The slowest reading a message send is allowed on average: 16 KiB/s (128 kbit/s, slower than any mobile data
    /// link a mail client is still used on). Holding every slot then costs an attacker slots × 16 KiB/s of download.
    /// </summary>
    public const long DefaultMinimumSendRate = 16 * 1024;

    /// <summary>Refusals are logged at most once per interval, with how many there were (a burst is one line, not thousands).</summary>
    public static readonly TimeSpan RefusalLogInterval = TimeSpan.FromSeconds(10);

    private static readonly Lease s_unlimitedLease = new(null, null);

    private readonly SemaphoreSlim? _slots;
    private readonly ILogger _logger;
    private readonly Action? _refused;
    private readonly TimeProvider _time;
    // Refusal log state: refusals not yet reported, when the last line was written, and a lock so a burst on many
    // threads writes one line (refusals are rare; the lock is never on the path of a command that got a slot).
    private readonly Lock _logLock = new();
    private long _unreported;
    private long _lastLoggedAt;
    private bool _loggedOnce;
    private string _lastOperation = "";

    /// <param name="slots">Commands that may hold their descriptors at once; null for no limit (the descriptor limit is unknown).</param>
    /// <param name="refused">Called once per refusal (the metric).</param>
    /// <param name="minimumSendRate">Octets per second (see <see cref="MinimumSendRate"/>).</param>
    /// <param name="time">The clock of the refusal log's interval.</param>
    public CommandDescriptorGate(int? slots, ILogger logger, TimeSpan? wait = null, Action? refused = null, long minimumSendRate = DefaultMinimumSendRate,
        TimeProvider? time = null)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(minimumSendRate);
        if (slots is { } n) _slots = new SemaphoreSlim(Math.Max(1, n), Math.Max(1, n));
        Capacity = slots is { } c ? Math.Max(1, c) : null;
        _logger = logger;
        Wait = wait ?? TimeSpan.FromSeconds(1);
        _refused = refused;
        MinimumSendRate = minimumSendRate;
        _time = time ?? TimeProvider.System;
    }

    /// <summary>No limit: what a server gets when RLIMIT_NOFILE cannot be read (not Linux).</summary>
    public static CommandDescriptorGate Unlimited(ILogger logger) => new(null, logger);

    /// <summary>Slots in all; null when unlimited.</summary>
    public int? Capacity { get; }

    /// <summary>Slots free now; null when unlimited.</summary>
    public int? Free => _slots?.CurrentCount;

    /// <summary>How long a command waits for a slot before it is refused: long enough to ride out a burst, short
    /// enough that the client's own timeout (often 30–60 s) is far away.</summary>
    public TimeSpan Wait { get; }

    /// <summary>Octets per second a message send must average (after one write timeout's grace) to keep its slot.</summary>
    public long MinimumSendRate { get; }

    /// <summary>
    /// The longest a command may spend sending <paramref name="octets"/> under a slot: <paramref name="writeTimeout"/>
    /// (a client may stall that long on any reply) plus the octets at <see cref="MinimumSendRate"/>. Also applies when
    /// the gate is unlimited: a send that slow pins its session and descriptors all the same.
    /// </summary>
    public TimeSpan HoldLimit(long octets, TimeSpan writeTimeout)
    {
        // Saturating: a write timeout configured as "for ever" (TimeSpan.MaxValue) must mean no bound, not an overflow.
        var seconds = writeTimeout.TotalSeconds + Math.Max(0, octets) / (double)MinimumSendRate;
        return seconds >= TimeSpan.MaxValue.TotalSeconds ? TimeSpan.MaxValue : TimeSpan.FromSeconds(seconds);
    }

    /// <summary>
    /// A slot for <paramref name="operation"/> (a fixed word for the log: "RETR", "login"), waiting up to
    /// <see cref="Wait"/> without blocking a thread; null, logged and counted, when none came free. Dispose the lease
    /// on every path, once the descriptors are closed.
    /// </summary>
    public async ValueTask<Lease?> EnterAsync(string operation, CancellationToken cancellationToken)
    {
        if (_slots is null) return s_unlimitedLease;
        if (_slots.Wait(0) || await _slots.WaitAsync(Wait, cancellationToken).ConfigureAwait(false)) return new Lease(_slots, this);
        _refused?.Invoke();
        NoteRefusal(operation);
        return null;
    }

    /// <summary>
    /// Logs the first refusal at once, then at most one line per <see cref="RefusalLogInterval"/> with the count since
    /// the last line; a count still unreported when refusals stop goes out with the next slot given back after the
    /// interval (see <see cref="Lease.Dispose"/>), so no burst goes unreported.
    /// </summary>
    private void NoteRefusal(string operation)
    {
        lock (_logLock)
        {
            _unreported++;
            _lastOperation = operation;
            var now = _time.GetTimestamp();
            if (_loggedOnce && _time.GetElapsedTime(_lastLoggedAt, now) < RefusalLogInterval) return;
            WriteRefusals(now);
        }
    }

    private void ReportPendingRefusals()
    {
        if (Volatile.Read(ref _unreported) == 0) return;
        lock (_logLock)
        {
            var now = _time.GetTimestamp();
            if (_unreported == 0 || _time.GetElapsedTime(_lastLoggedAt, now) < RefusalLogInterval) return;
            WriteRefusals(now);
        }
    }

    private void WriteRefusals(long now)
    {
        var seconds = _loggedOnce ? Math.Round(_time.GetElapsedTime(_lastLoggedAt, now).TotalSeconds) : 0;
        Refused(_logger, _unreported, seconds, _lastOperation, Capacity!.Value, Wait.TotalMilliseconds);
        _unreported = 0;
        _lastLoggedAt = now;
        _loggedOnce = true;
    }

    /// <summary>One slot, given back once however often it is disposed.</summary>
    internal sealed class Lease(SemaphoreSlim? slots, CommandDescriptorGate? gate) : IDisposable
    {
        private SemaphoreSlim? _slots = slots;

        public void Dispose()
        {
            if (Interlocked.Exchange(ref _slots, null) is not { } given) return;
            given.Release();
            gate?.ReportPendingRefusals();
        }
    }

    [LoggerMessage(29, LogLevel.Warning, "{Count} POP3 command(s) refused with [SYS/TEMP] in the last {Seconds} s (the last a {Operation}): all {Slots} descriptor slots were taken for {WaitMs} ms. Raise LimitNOFILE (ulimit -n) or lower MaxConnections if this recurs", EventName = "CommandDescriptorsBusy")]
    private static partial void Refused(ILogger logger, long count, double seconds, string operation, int slots, double waitMs);
}
