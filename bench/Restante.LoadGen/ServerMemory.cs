using System.Globalization;

namespace Restante.LoadGen;

/// <summary>
/// The memory of the server under test: RSS and PSS from /proc/PID/smaps_rollup, summed over the
/// given processes and all their descendants (Dovecot forks a process per login and per session).
/// </summary>
internal static class ServerMemory
{
    public readonly record struct Sample(long RssKb, long PssKb, long PrivateKb, int Processes);

    public static Sample Read(IReadOnlyList<int> roots)
    {
        if (roots.Count == 0) return default;
        var pids = WithDescendants(roots);
        long rss = 0, pss = 0, priv = 0;
        var n = 0;
        foreach (var pid in pids)
        {
            try
            {
                foreach (var line in File.ReadLines($"/proc/{pid}/smaps_rollup"))
                {
                    if (line.StartsWith("Rss:", StringComparison.Ordinal)) rss += Kb(line);
                    else if (line.StartsWith("Pss:", StringComparison.Ordinal)) pss += Kb(line);
                    else if (line.StartsWith("Private_", StringComparison.Ordinal)) priv += Kb(line);
                }
                n++;
            }
            catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
            {
                // The process ended while we looked.
            }
        }
        return new Sample(rss, pss, priv, n);
    }

    /// <summary>Only RSS (/proc/PID/statm, descendants included), cheap enough to sample often.</summary>
    public static long ReadRssKb(IReadOnlyList<int> roots)
    {
        if (roots.Count == 0) return 0;
        long kb = 0;
        foreach (var pid in WithDescendants(roots))
        {
            try
            {
                var fields = File.ReadAllText($"/proc/{pid}/statm").Split(' ');
                kb += long.Parse(fields[1], CultureInfo.InvariantCulture) * Environment.SystemPageSize / 1024;
            }
            catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
            {
                // Gone.
            }
        }
        return kb;
    }

    private static long Kb(string line)
    {
        var parts = line.Split(' ', StringSplitOptions.RemoveEmptyEntries);
        return long.Parse(parts[1], CultureInfo.InvariantCulture);
    }

    private static HashSet<int> WithDescendants(IReadOnlyList<int> roots)
    {
        var parentOf = new Dictionary<int, int>();
        foreach (var dir in Directory.EnumerateDirectories("/proc"))
        {
            if (!int.TryParse(Path.GetFileName(dir), NumberStyles.None, CultureInfo.InvariantCulture, out var pid)) continue;
            try
            {
                var stat = File.ReadAllText($"/proc/{pid}/stat");
                // The command name may hold spaces: fields resume after the last ')'.
                var rest = stat[(stat.LastIndexOf(')') + 2)..].Split(' ');
                parentOf[pid] = int.Parse(rest[1], CultureInfo.InvariantCulture);
            }
            catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
            {
                // Gone.
            }
        }
        var set = new HashSet<int>(roots);
        bool grew;
        do
        {
            grew = false;
            foreach (var (pid, parent) in parentOf)
                if (set.Contains(parent) && set.Add(pid)) grew = true;
        } while (grew);
        return set;
    }
}

/// <summary>Samples the server's RSS every 50 ms (descendants included) during a run: before, peak and after.</summary>
internal sealed class RssSampler : IAsyncDisposable
{
    private readonly IReadOnlyList<int> _pids;
    private readonly CancellationTokenSource _stop = new();
    private readonly Task _loop;

    public RssSampler(IReadOnlyList<int> pids)
    {
        _pids = pids;
        BeforeKb = ServerMemory.ReadRssKb(pids);
        PeakKb = BeforeKb;
        _loop = pids.Count == 0 ? Task.CompletedTask : Task.Run(LoopAsync);
    }

    public long BeforeKb { get; }
    public long PeakKb { get; private set; }
    public long AfterKb { get; private set; }

    private async Task LoopAsync()
    {
        using var timer = new PeriodicTimer(TimeSpan.FromMilliseconds(50));
        try
        {
            while (await timer.WaitForNextTickAsync(_stop.Token).ConfigureAwait(false))
                PeakKb = Math.Max(PeakKb, ServerMemory.ReadRssKb(_pids));
        }
        catch (OperationCanceledException)
        {
            // Stopped.
        }
    }

    private bool _disposed;

    public async ValueTask DisposeAsync()
    {
        if (_disposed) return;
        _disposed = true;
        await _stop.CancelAsync().ConfigureAwait(false);
        await _loop.ConfigureAwait(false);
        AfterKb = ServerMemory.ReadRssKb(_pids);
        PeakKb = Math.Max(PeakKb, AfterKb);
        _stop.Dispose();
    }
}
