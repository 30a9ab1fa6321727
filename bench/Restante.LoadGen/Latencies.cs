namespace Restante.LoadGen;

/// <summary>Latency samples in Stopwatch ticks, one instance per worker (no locking), merged at the end.</summary>
internal sealed class Latencies
{
    private long[] _ticks = new long[4096];

    public int Count { get; private set; }

    public void Add(long ticks)
    {
        if (Count == _ticks.Length) Array.Resize(ref _ticks, _ticks.Length * 2);
        _ticks[Count++] = ticks;
    }

    public static double[] Percentiles(IEnumerable<Latencies> parts, params double[] quantiles)
    {
        var all = new List<long>();
        foreach (var p in parts) all.AddRange(p._ticks.AsSpan(0, p.Count));
        var result = new double[quantiles.Length];
        if (all.Count == 0) return result;
        all.Sort();
        for (var q = 0; q < quantiles.Length; q++)
        {
            // Nearest rank.
            var rank = (int)Math.Ceiling(quantiles[q] * all.Count) - 1;
            result[q] = Clock.Ms(all[Math.Clamp(rank, 0, all.Count - 1)]);
        }
        return result;
    }
}

internal static class Clock
{
    public static long Now => System.Diagnostics.Stopwatch.GetTimestamp();

    public static double Ms(long ticks) => ticks * 1000.0 / System.Diagnostics.Stopwatch.Frequency;

    public static long Ticks(double seconds) => (long)(seconds * System.Diagnostics.Stopwatch.Frequency);
}
