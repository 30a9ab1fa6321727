using System.Text.Json;

namespace Restante.Tests.Packaging;

/// <summary>
/// `restante` runs with thread-pool spinning off: a PostgreSQL session idles its worker at every database round trip,
/// and the spin before sleeping was most of the node's CPU per login (bench/RESULTS-postgres.md). The setting travels
/// in Restante.Cli.runtimeconfig.json (and into a Native AOT build from the same item).
/// </summary>
public sealed class ThreadPoolSpinLimitTests
{
    [Fact]
    public void The_cli_runtime_configuration_turns_thread_pool_spinning_off()
    {
        var path = Path.Combine(AppContext.BaseDirectory, "Restante.Cli.runtimeconfig.json");
        using var document = JsonDocument.Parse(File.ReadAllText(path));
        var properties = document.RootElement.GetProperty("runtimeOptions").GetProperty("configProperties");
        Assert.True(properties.TryGetProperty("System.Threading.ThreadPool.UnfairSemaphoreSpinLimit", out var limit),
            "Restante.Cli.runtimeconfig.json does not set System.Threading.ThreadPool.UnfairSemaphoreSpinLimit");
        Assert.Equal(0, limit.GetInt32());
    }
}
