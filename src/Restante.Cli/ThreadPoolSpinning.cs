namespace Restante.Cli;

/// <summary>
/// Thread-pool spinning off for a node whose store is PostgreSQL, and only for it. A PostgreSQL session leaves its
/// pool worker idle at each database round trip, and an idle worker spins through sched_yield before it sleeps: that
/// spinning was the largest single cost of a PostgreSQL login on the node (bench/RESULTS-postgres.md). On a Maildir
/// node the same setting cost about a fifth of the one-client login rate, so it cannot go in the runtime configuration
/// of every node. The runtime reads the limit once, when the pool's worker semaphore is first made (the AppContext
/// value, unless a DOTNET_ or COMPlus_ environment variable names it), so it is set here, before the host starts and
/// before anything has been queued to the pool.
/// </summary>
internal static class ThreadPoolSpinning
{
    /// <summary>The runtime's AppContext name (also a runtimeconfig.json property).</summary>
    internal const string SpinLimitKey = "System.Threading.ThreadPool.UnfairSemaphoreSpinLimit";

    private static readonly string[] EnvironmentNames = ["DOTNET_ThreadPool_UnfairSemaphoreSpinLimit", "COMPlus_ThreadPool_UnfairSemaphoreSpinLimit"];

    internal enum Decision
    {
        /// <summary>Not a PostgreSQL node: the runtime's default.</summary>
        Default,

        /// <summary>Set to 0 here.</summary>
        Off,

        /// <summary>The operator named the limit (environment or runtimeconfig.json): theirs wins.</summary>
        Operator,

        /// <summary>The pool already has threads, so it has read the limit: setting it now would change nothing.</summary>
        TooLate,
    }

    /// <summary>Turns spinning off if <paramref name="store"/> is postgres and nobody else has decided; says what it did.</summary>
    public static Decision ApplyFor(string store)
    {
        var decision = Decide(store,
            operatorSet: AppContext.GetData(SpinLimitKey) is not null || EnvironmentNames.Any(n => RuntimeReads(Environment.GetEnvironmentVariable(n))),
            poolStarted: ThreadPool.ThreadCount > 0 || ThreadPool.CompletedWorkItemCount > 0);
        if (decision == Decision.Off) AppContext.SetData(SpinLimitKey, 0);
        return decision;
    }

    /// <summary>
    /// Whether the runtime takes the variable's value: it reads DOTNET_/COMPlus_ settings as hexadecimal (an optional
    /// 0x) and ignores one that does not parse, so such a value is not the operator's choice and spinning goes off.
    /// </summary>
    internal static bool RuntimeReads(string? value)
    {
        if (value is null) return false;
        var digits = value.StartsWith("0x", StringComparison.OrdinalIgnoreCase) ? value[2..] : value;
        return uint.TryParse(digits, System.Globalization.NumberStyles.AllowHexSpecifier, System.Globalization.CultureInfo.InvariantCulture, out _);
    }

    internal static Decision Decide(string store, bool operatorSet, bool poolStarted)
    {
        if (store != "postgres") return Decision.Default;
        if (operatorSet) return Decision.Operator;
        return poolStarted ? Decision.TooLate : Decision.Off;
    }

    /// <summary>The startup line for a decision worth a line, else null.</summary>
    public static string? Describe(Decision decision) => decision switch
    {
        Decision.Off => $"Thread-pool spinning off for the PostgreSQL store ({SpinLimitKey} 0; DOTNET_ThreadPool_UnfairSemaphoreSpinLimit overrides)",
        Decision.TooLate => "Thread-pool spinning left at the runtime's default: the pool had started before the store was known",
        Decision.Operator => $"Thread-pool spin limit left to the operator's setting ({SpinLimitKey}, or DOTNET_ThreadPool_UnfairSemaphoreSpinLimit in hexadecimal)",
        _ => null,
    };
}
