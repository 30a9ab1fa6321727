using System.Globalization;
using System.Text;
using System.Text.Json;

namespace Restante.LoadGen;

/// <summary>
/// report: reads the JSON lines of a compare run and prints, per case and metric, the median of
/// the rounds for each server with the run-to-run spread, and the ratios Restante/Dovecot and
/// Restante/ceiling. Markdown, so it goes into RESULTS.md as is.
/// </summary>
internal static class Report
{
    private static readonly string[] ServerOrder = ["restante", "dovecot", "ceiling"];

    public static int Run(Options o)
    {
        var rows = new List<JsonElement>();
        foreach (var file in o.Files)
            foreach (var line in File.ReadLines(file))
                if (line.StartsWith('{')) rows.Add(JsonDocument.Parse(line).RootElement.Clone());

        var sb = new StringBuilder();
        var inv = CultureInfo.InvariantCulture;
        sb.AppendLine("| case | metric | Restante median [min–max] | Dovecot median [min–max] | ceiling median [min–max] | Restante/Dovecot | Restante/ceiling |");
        sb.AppendLine("|---|---|---|---|---|---|---|");
        var cases = rows.Where(r => r.TryGetProperty("case", out _)).Select(r => r.GetProperty("case").GetString()!).Distinct().ToList();
        foreach (var c in cases)
        {
            var ofCase = rows.Where(r => r.GetProperty("case").GetString() == c).ToList();
            var mode = ofCase[0].GetProperty("mode").GetString();
            foreach (var metric in MetricsFor(mode!, ofCase))
            {
                var cells = new Dictionary<string, (double Median, double Min, double Max, int N, long Errors)>();
                foreach (var server in ServerOrder)
                {
                    var values = ofCase.Where(r => r.TryGetProperty("server", out var s) && s.GetString() == server && r.TryGetProperty(metric, out _))
                        .Select(r => (V: r.GetProperty(metric).GetDouble(), E: r.GetProperty("errors").GetInt64())).ToList();
                    if (values.Count == 0) continue;
                    cells[server] = (BigMode.Median(values.Select(v => v.V).ToList()), values.Min(v => v.V), values.Max(v => v.V), values.Count, values.Sum(v => v.E));
                }
                string Cell(string s) => cells.TryGetValue(s, out var x)
                    ? string.Format(inv, "{0} [{1}–{2}] n={3}{4}", Fmt(x.Median), Fmt(x.Min), Fmt(x.Max), x.N, x.Errors > 0 ? $" ⚠{x.Errors} errors" : "")
                    : "–";
                string Ratio(string a, string b) => cells.TryGetValue(a, out var x) && cells.TryGetValue(b, out var y) && y.Median != 0
                    ? string.Format(inv, "{0:0.00}×", x.Median / y.Median) : "–";
                sb.AppendLine(CultureInfo.InvariantCulture, $"| {c} | {metric}{(LowerIsBetter(metric) ? " ↓" : " ↑")} | {Cell("restante")} | {Cell("dovecot")} | {Cell("ceiling")} | {Ratio("restante", "dovecot")} | {Ratio("restante", "ceiling")} |");
            }
        }
        sb.AppendLine();
        sb.AppendLine("↑ higher is better, ↓ lower is better; ratios are plain quotients of the medians.");
        var text = sb.ToString();
        Console.Out.Write(text);
        if (o.Output is not null) File.WriteAllText(o.Output, text);
        return 0;
    }

    private static IEnumerable<string> MetricsFor(string mode, List<JsonElement> rows)
    {
        string[] wanted = mode switch
        {
            "login" => ["sessions_per_s", "p99_ms"],
            "retr" => ["mb_per_s", "p99_ms", "rss_growth_kb"],
            "big" => ["all_ms", "login_ms", "stat_ms", "list_ms", "uidl_ms", "total_ms"],
            "idle" => ["held", "rss_per_session_kb", "pss_per_session_kb", "private_per_session_kb"],
            _ => [],
        };
        return wanted.Where(m => rows.Any(r => r.TryGetProperty(m, out _)));
    }

    private static bool LowerIsBetter(string metric) => metric.EndsWith("_ms", StringComparison.Ordinal) || metric.EndsWith("_kb", StringComparison.Ordinal);

    private static string Fmt(double v) => v switch
    {
        >= 1000 => v.ToString("F0", CultureInfo.InvariantCulture),
        >= 10 => v.ToString("F1", CultureInfo.InvariantCulture),
        _ => v.ToString("F2", CultureInfo.InvariantCulture),
    };
}
