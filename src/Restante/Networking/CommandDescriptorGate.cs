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
internal sealed partial class CommandDescriptorGate
{
    private static readonly Lease s_unlimitedLease = new(null);

    private readonly SemaphoreSlim? _slots;
    private readonly ILogger _logger;
    private readonly Action? _refused;

    /// <param name="slots">Commands that may hold their descriptors at once; null for no limit (the descriptor limit is unknown).</param>
    /// <param name="refused">Called once per refusal (the metric).</param>
    public CommandDescriptorGate(int? slots, ILogger logger, TimeSpan? wait = null, Action? refused = null)
    {
        if (slots is { } n) _slots = new SemaphoreSlim(Math.Max(1, n), Math.Max(1, n));
        Capacity = slots is { } c ? Math.Max(1, c) : null;
        _logger = logger;
        Wait = wait ?? TimeSpan.FromSeconds(1);
        _refused = refused;
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

    /// <summary>
    /// A slot for <paramref name="operation"/> (a fixed word for the log: "RETR", "login"), waiting up to
    /// <see cref="Wait"/> without blocking a thread; null, logged and counted, when none came free. Dispose the lease
    /// on every path, once the descriptors are closed.
    /// </summary>
    public async ValueTask<Lease?> EnterAsync(string operation, CancellationToken cancellationToken)
    {
        if (_slots is null) return s_unlimitedLease;
        if (_slots.Wait(0) || await _slots.WaitAsync(Wait, cancellationToken).ConfigureAwait(false)) return new Lease(_slots);
        Refused(_logger, operation, Capacity!.Value, Wait.TotalMilliseconds);
        _refused?.Invoke();
        return null;
    }

    /// <summary>One slot, given back once however often it is disposed.</summary>
    internal sealed class Lease(SemaphoreSlim? slots) : IDisposable
    {
        private SemaphoreSlim? _slots = slots;

        public void Dispose() => Interlocked.Exchange(ref _slots, null)?.Release();
    }

    [LoggerMessage(29, LogLevel.Warning, "All {Slots} descriptor slots for POP3 commands were taken for {WaitMs} ms: {Operation} refused with [SYS/TEMP]. Raise LimitNOFILE (ulimit -n) or lower MaxConnections if this recurs", EventName = "CommandDescriptorsBusy")]
    private static partial void Refused(ILogger logger, string operation, int slots, double waitMs);
}
