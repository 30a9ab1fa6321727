using System.Globalization;
using System.Text;
using System.Text.Json;

namespace Restante.LoadGen;

/// <summary>
/// report: reads the JSON lines of a compare run and prints, per case and metric, the median of
/// the rounds for each server with the run-to-run spread, and the ratios of Restante to each other
/// server. Markdown, so it goes into RESULTS.md as is. A case named "BASE+idle-N" (a login rate
/// measured while N idle sessions are held) also gets its rate as a share of BASE's.
/// </summary>
internal static class Report
{
    private static readonly (string Key, string Title)[] Servers =
    [
        ("restante", "Restante"), ("dovecot", "Dovecot"), ("dovecot-nfu", "Dovecot no-flag-updates"), ("ceiling", "ceiling"),
    ];

    public static int Run(Options o)
    {
        var rows = new List<JsonElement>();
        foreach (var file in o.Files)
            foreach (var line in File.ReadLines(file))
                if (line.StartsWith('{')) rows.Add(JsonDocument.Parse(line).RootElement.Clone());

        var inv = CultureInfo.InvariantCulture;
        var present = Servers.Where(s => rows.Any(r => ServerOf(r) == s.Key)).ToList();
        var others = present.Where(s => s.Key != "restante").ToList();
        var sb = new StringBuilder();
        sb.Append("| case | metric |");
        foreach (var s in present) sb.Append(inv, $" {s.Title} median [min–max] |");
        foreach (var s in others) sb.Append(inv, $" Restante/{s.Title} |");
        sb.AppendLine();
        sb.Append("|---|---|").Append(string.Concat(Enumerable.Repeat("---|", present.Count + others.Count))).AppendLine();

        var cases = rows.Where(r => r.TryGetProperty("case", out _)).Select(r => r.GetProperty("case").GetString()!).Distinct().ToList();
        foreach (var c in cases)
        {
            var ofCase = rows.Where(r => r.GetProperty("case").GetString() == c).ToList();
            var mode = ofCase[0].GetProperty("mode").GetString();
            foreach (var metric in MetricsFor(mode!, ofCase))
            {
                var cells = new Dictionary<string, Cell>();
                foreach (var (server, _) in present)
                    if (CellOf(ofCase, server, metric) is { } cell) cells[server] = cell;
                sb.Append(inv, $"| {c} | {metric}{(LowerIsBetter(metric) ? " ↓" : " ↑")} |");
                foreach (var (server, _) in present)
                    sb.Append(' ').Append(cells.TryGetValue(server, out var x)
                        ? string.Format(inv, "{0} [{1}–{2}] n={3}{4}", Fmt(x.Median), Fmt(x.Min), Fmt(x.Max), x.N, x.Errors > 0 ? $" ⚠{x.Errors} errors" : "")
                        : "–").Append(" |");
                foreach (var (server, _) in others)
                    sb.Append(' ').Append(cells.TryGetValue("restante", out var a) && cells.TryGetValue(server, out var b) && b.Median != 0
                        ? string.Format(inv, "{0:0.00}×", a.Median / b.Median) : "–").Append(" |");
                sb.AppendLine();
            }
        }
        sb.AppendLine();
        sb.AppendLine("↑ higher is better, ↓ lower is better; ratios are plain quotients of the medians.");

        var held = cases.Where(c => c.Contains("+idle-", StringComparison.Ordinal)).ToList();
        if (held.Count > 0)
        {
            sb.AppendLine();
            sb.AppendLine("Login rate kept while idle sessions are held (median sessions/s with them ÷ median of the base case without; goal ≥ 80%):");
            sb.AppendLine();
            sb.AppendLine("| case | server | with idle sessions | without | kept |");
            sb.AppendLine("|---|---|---|---|---|");
            foreach (var c in held)
            {
                var baseCase = c[..c.IndexOf("+idle-", StringComparison.Ordinal)];
                foreach (var (server, title) in present)
                {
                    var with = CellOf(rows.Where(r => r.GetProperty("case").GetString() == c).ToList(), server, "sessions_per_s");
                    var without = CellOf(rows.Where(r => r.TryGetProperty("case", out var k) && k.GetString() == baseCase).ToList(), server, "sessions_per_s");
                    if (with is null || without is null || without.Median == 0) continue;
                    sb.AppendLine(inv, $"| {c} | {title} | {Fmt(with.Median)} | {Fmt(without.Median)} | {with.Median / without.Median * 100:F0}% |");
                }
            }
        }
        var text = sb.ToString();
        Console.Out.Write(text);
        if (o.Output is not null) File.WriteAllText(o.Output, text);
        return 0;
    }

    private sealed record Cell(double Median, double Min, double Max, int N, long Errors);

    private static string? ServerOf(JsonElement r) => r.TryGetProperty("server", out var s) ? s.GetString() : null;

    private static Cell? CellOf(List<JsonElement> rows, string server, string metric)
    {
        var values = rows.Where(r => ServerOf(r) == server && r.TryGetProperty(metric, out var v) && v.ValueKind == JsonValueKind.Number)
            .Select(r => (V: r.GetProperty(metric).GetDouble(), E: r.TryGetProperty("errors", out var e) ? e.GetInt64() : 0)).ToList();
        if (values.Count == 0) return null;
        return new Cell(BigMode.Median(values.Select(v => v.V)), values.Min(v => v.V), values.Max(v => v.V), values.Count, values.Sum(v => v.E));
    }

    private static IEnumerable<string> MetricsFor(string mode, List<JsonElement> rows)
    {
        string[] wanted = mode switch
        {
            "login" => ["sessions_per_s", "p99_ms"],
            "retr" => ["mb_per_s", "p99_ms", "rss_growth_kb"],
            "big" => ["all_ms", "first_all_ms", "login_ms", "stat_ms", "list_ms", "uidl_ms", "total_ms",
                      "rss_peak_bytes_per_message", "private_bytes_per_message"],
            "idle" => ["held", "rss_per_session_kb", "pss_per_session_kb", "private_per_session_kb"],
            "memory" => ["startup_ms", "rss_kb", "pss_kb", "private_kb"],
            "lmtp" => ["deliveries_per_second", "p99_ms"],
            _ => [],
        };
        return wanted.Where(m => rows.Any(r => r.TryGetProperty(m, out _)));
    }

    private static bool LowerIsBetter(string metric) =>
        metric.EndsWith("_ms", StringComparison.Ordinal) || metric.EndsWith("_kb", StringComparison.Ordinal)
        || metric.EndsWith("_per_message", StringComparison.Ordinal) || metric == "messages";

    private static string Fmt(double v) => v switch
    {
        >= 1000 or <= -1000 => v.ToString("F0", CultureInfo.InvariantCulture),
        >= 10 or <= -10 => v.ToString("F1", CultureInfo.InvariantCulture),
        _ => v.ToString("F2", CultureInfo.InvariantCulture),
    };
}
