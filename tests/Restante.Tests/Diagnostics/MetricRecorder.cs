using System.Collections.Concurrent;
using System.Diagnostics.Metrics;

namespace Restante.Tests.Diagnostics;

/// <summary>
/// Listens to one <see cref="Meter"/> instance (one server's, so tests running in parallel never see each other's
/// numbers) and keeps a running total per instrument and tag set; observable instruments are read on demand.
/// </summary>
internal sealed class MetricRecorder : IDisposable
{
    private readonly MeterListener _listener = new();
    private readonly ConcurrentDictionary<string, double> _totals = new();
    private readonly ConcurrentDictionary<string, double> _observed = new();
    private readonly ConcurrentDictionary<string, int> _counts = new();

    public MetricRecorder(Meter meter)
    {
        _listener.InstrumentPublished = (instrument, listener) =>
        {
            if (ReferenceEquals(instrument.Meter, meter)) listener.EnableMeasurementEvents(instrument);
        };
        _listener.SetMeasurementEventCallback<long>((instrument, value, tags, _) => Add(instrument, value, tags));
        _listener.SetMeasurementEventCallback<int>((instrument, value, tags, _) => Add(instrument, value, tags));
        _listener.SetMeasurementEventCallback<double>((instrument, value, tags, _) => Add(instrument, value, tags));
        _listener.Start();
    }

    private void Add(Instrument instrument, double value, ReadOnlySpan<KeyValuePair<string, object?>> tags)
    {
        var key = Key(instrument.Name, tags.ToArray().Select(t => (t.Key, t.Value?.ToString() ?? "")));
        if (instrument.GetType().Name.StartsWith("Observable", StringComparison.Ordinal))
        {
            _observed[key] = value;
            return;
        }
        _totals.AddOrUpdate(key, value, (_, total) => total + value);
        _counts.AddOrUpdate(key, 1, (_, n) => n + 1);
    }

    private static string Key(string name, IEnumerable<(string Key, string Value)> tags)
        => name + "{" + string.Join(",", tags.OrderBy(t => t.Key, StringComparer.Ordinal).Select(t => $"{t.Key}={t.Value}")) + "}";

    /// <summary>The sum of what was recorded on <paramref name="name"/> with exactly these tags.</summary>
    public double Total(string name, params (string Key, string Value)[] tags) => _totals.GetValueOrDefault(Key(name, tags));

    /// <summary>How many measurements (a histogram's count) were recorded on <paramref name="name"/> with exactly these tags.</summary>
    public int Count(string name, params (string Key, string Value)[] tags) => _counts.GetValueOrDefault(Key(name, tags));

    /// <summary>Reads the observable instruments now and returns <paramref name="name"/>'s value.</summary>
    public double Observe(string name)
    {
        _listener.RecordObservableInstruments();
        return _observed.GetValueOrDefault(Key(name, []));
    }

    public async Task WaitForAsync(Func<MetricRecorder, bool> condition)
    {
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(20);
        while (!condition(this))
        {
            if (DateTime.UtcNow > deadline) throw new Xunit.Sdk.XunitException("Metrics never reached the expected values: " + string.Join(" ", _totals.Select(t => $"{t.Key}={t.Value}")));
            await Task.Delay(20);
        }
    }

    public void Dispose() => _listener.Dispose();
}
