using Restante.Cli;
using Restante.Tests.Infrastructure;

namespace Restante.Tests.Postgres;

/// <summary>
/// `restante serve` turns thread-pool spinning off when its store is PostgreSQL, before the pool has started (the runtime
/// reads the limit once, when the pool makes its first worker), and leaves Maildir nodes and an operator's own setting
/// alone. That the runtime then spins less (about 2 sched_yield per login instead of 8–34 on a loaded machine) is
/// measured, not tested: bench/pg-login-cost.sh, bench/RESULTS-postgres.md.
/// </summary>
[Collection(nameof(PostgresCollection))]
public sealed class ThreadPoolSpinningTests
{
    private const string Off = "Thread-pool spinning off for the PostgreSQL store";
    private const string TooLate = "Thread-pool spinning left at the runtime's default";
    // Announced after the spinning line, whatever the store: a fresh data directory has no users.
    private const string LastStartupLine = "No users yet";

    [PostgresFact]
    public async Task A_postgres_node_turns_spinning_off_before_its_pool_has_started()
    {
        // The node inherits the runner's environment, where the operator's setting would win (the test below).
        foreach (var name in (string[])["DOTNET_ThreadPool_UnfairSemaphoreSpinLimit", "COMPlus_ThreadPool_UnfairSemaphoreSpinLimit"])
            Assert.True(Environment.GetEnvironmentVariable(name) is null, $"{name} is set in the environment running the tests: unset it (a node started from there takes it as the operator's choice)");
        var connectionString = await (await PostgresCluster.SharedAsync()).CreateDatabaseAsync();
        using var data = new TempDirectory();
        await using var node = await ServerProcess.StartAsync(data.Path, null, "--store", "postgres", "--postgres", connectionString);

        Assert.True(await node.WaitForOutputAsync(l => l.Contains(LastStartupLine, StringComparison.Ordinal)), string.Join("\n", node.Output));
        Assert.Contains(node.Output, l => l.Contains(Off, StringComparison.Ordinal));
        Assert.DoesNotContain(node.Output, l => l.Contains(TooLate, StringComparison.Ordinal));
    }

    [PostgresFact]
    public async Task The_operators_environment_setting_wins_on_a_postgres_node()
    {
        var connectionString = await (await PostgresCluster.SharedAsync()).CreateDatabaseAsync();
        using var data = new TempDirectory();
        var environment = new Dictionary<string, string> { ["DOTNET_ThreadPool_UnfairSemaphoreSpinLimit"] = "70" };
        await using var node = await ServerProcess.StartAsync(data.Path, null, environment, "--store", "postgres", "--postgres", connectionString);

        Assert.True(await node.WaitForOutputAsync(l => l.Contains(LastStartupLine, StringComparison.Ordinal)), string.Join("\n", node.Output));
        Assert.DoesNotContain(node.Output, l => l.Contains("Thread-pool spinning", StringComparison.Ordinal));
        Assert.Contains(node.Output, l => l.Contains("Thread-pool spin limit left to the operator's setting", StringComparison.Ordinal));
    }

    [Theory]
    [InlineData("0", true)]
    [InlineData("70", true)]
    [InlineData("0x46", true)]
    [InlineData("", false)]
    [InlineData("off", false)]
    [InlineData("zz", false)]
    public void Only_a_value_the_runtime_reads_counts_as_the_operators(string value, bool reads)
        => Assert.Equal(reads, ThreadPoolSpinning.RuntimeReads(value));

    [Fact]
    public async Task A_maildir_node_keeps_the_runtimes_spinning()
    {
        using var data = new TempDirectory();
        await using var node = await ServerProcess.StartAsync(data.Path);

        Assert.True(await node.WaitForOutputAsync(l => l.Contains(LastStartupLine, StringComparison.Ordinal)), string.Join("\n", node.Output));
        Assert.DoesNotContain(node.Output, l => l.Contains("Thread-pool spinning", StringComparison.Ordinal));
    }

    [Theory]
    [InlineData("postgres", false, false, "Off")]
    [InlineData("maildir", false, false, "Default")]
    [InlineData("memory", false, false, "Default")]
    [InlineData("postgres", true, false, "Operator")]
    [InlineData("postgres", false, true, "TooLate")]
    public void Only_a_postgres_store_nobody_else_decided_for_gets_spinning_off(string store, bool operatorSet, bool poolStarted, string expected)
        => Assert.Equal(Enum.Parse<ThreadPoolSpinning.Decision>(expected), ThreadPoolSpinning.Decide(store, operatorSet, poolStarted));
}
