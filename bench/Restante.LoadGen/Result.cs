using System.Globalization;
using System.Text;
using System.Text.Json;

namespace Restante.LoadGen;

/// <summary>One run's figures: printed as one JSON line (for scripts) and a short summary (for people).</summary>
internal sealed class Result(Options options)
{
    private readonly List<(string Key, object Value)> _fields = [];
    private readonly List<string> _summary = [];
    private readonly Dictionary<string, int> _errors = new(StringComparer.Ordinal);

    public string? FirstError { get; private set; }

    public void Set(string key, object value) => _fields.Add((key, value));

    public void Say(string line) => _summary.Add(line);

    public void AddErrors(Dictionary<string, int> errors, string? first)
    {
        foreach (var (k, v) in errors) _errors[k] = _errors.GetValueOrDefault(k) + v;
        FirstError ??= first;
    }

    public int ErrorCount => _errors.Values.Sum();

    public string ToJson()
    {
        using var stream = new MemoryStream();
        using (var w = new Utf8JsonWriter(stream))
        {
            w.WriteStartObject();
            w.WriteString("mode", options.Mode);
            if (options.Server.Length > 0) w.WriteString("server", options.Server);
            if (options.Case.Length > 0) w.WriteString("case", options.Case);
            if (options.Round > 0) w.WriteNumber("round", options.Round);
            if (options.Label.Length > 0) w.WriteString("label", options.Label);
            w.WriteString("endpoint", $"{options.Host}:{options.Port}");
            w.WriteBoolean("tls", options.Tls);
            if (options.TlsResume) w.WriteBoolean("tls_resume", true);
            w.WriteNumber("concurrency", options.Concurrency);
            foreach (var (key, value) in options.Metrics) w.WriteNumber(key, value);
            foreach (var (key, value) in _fields)
            {
                switch (value)
                {
                    case double d: w.WriteNumber(key, Math.Round(d, 3)); break;
                    case long l: w.WriteNumber(key, l); break;
                    case int n: w.WriteNumber(key, n); break;
                    case bool b: w.WriteBoolean(key, b); break;
                    case double[] arr:
                        w.WriteStartArray(key);
                        foreach (var x in arr) w.WriteNumberValue(Math.Round(x, 3));
                        w.WriteEndArray();
                        break;
                    default: w.WriteString(key, Convert.ToString(value, CultureInfo.InvariantCulture)); break;
                }
            }
            w.WriteNumber("errors", ErrorCount);
            w.WriteStartObject("error_kinds");
            foreach (var (k, v) in _errors) w.WriteNumber(k, v);
            w.WriteEndObject();
            if (FirstError is not null) w.WriteString("first_error", FirstError);
            w.WriteEndObject();
        }
        return Encoding.UTF8.GetString(stream.ToArray());
    }

    public void Print()
    {
        var head = $"# {options.Mode} {(options.TlsResume ? "tls-resume " : options.Tls ? "tls " : "")}{options.Host}:{options.Port} concurrency {options.Concurrency}"
                   + (options.Server.Length > 0 ? $" [{options.Server} {options.Case} round {options.Round}]" : "");
        Console.Out.WriteLine(head);
        foreach (var line in _summary) Console.Out.WriteLine("#   " + line);
        if (ErrorCount > 0) Console.Out.WriteLine($"#   ERRORS: {ErrorCount} ({string.Join(", ", _errors.Select(e => $"{e.Key}={e.Value}"))}); first: {FirstError}");
        var json = ToJson();
        Console.Out.WriteLine(json);
        if (options.Output is not null) File.AppendAllText(options.Output, json + "\n");
    }
}

/// <summary>Per-worker counters: no sharing while running.</summary>
internal sealed class WorkerStats
{
    public long Sessions;
    public long Messages;
    public long Bytes;
    public long LastEventTicks;
    public long TlsFull;
    public long TlsResumed;
    public readonly Latencies Latency = new();
    public readonly Latencies SessionLatency = new();
    public readonly Dictionary<string, int> Errors = new(StringComparer.Ordinal);
    public string? FirstError;

    public void Fail(string kind, string message)
    {
        Errors[kind] = Errors.GetValueOrDefault(kind) + 1;
        FirstError ??= $"{kind}: {message}";
    }
}
