using Microsoft.Extensions.DependencyInjection;
using OpenTelemetry.Exporter;
using OpenTelemetry.Metrics;
using OpenTelemetry.Resources;
using Restante.Diagnostics;

namespace Restante.Cli;

/// <summary>
/// Wires the server's <see cref="RestanteMetrics"/> meter to OpenTelemetry: a Prometheus scrape endpoint and/or OTLP
/// push, as <see cref="MetricsOptions"/> says. Nothing at all when neither is configured, so no listener subscribes
/// to the instruments.
/// </summary>
internal static class MetricsExport
{
    public static void AddMetricsExport(this IServiceCollection services, MetricsOptions options)
    {
        // An invalid section is reported with the other configuration errors, before the host starts.
        if (!options.Enabled || options.Validate().Any()) return;
        services.AddOpenTelemetry().WithMetrics(metrics =>
        {
            metrics.ConfigureResource(resource => resource.AddService("restante"));
            metrics.AddMeter(RestanteMetrics.MeterName);
            if (!string.IsNullOrWhiteSpace(options.Listen))
            {
                var prefix = options.ScrapePrefix();
                metrics.AddPrometheusHttpListener(o =>
                {
                    // Our own prefix replaces the exporter's (built from Host and Port): it binds exactly the
                    // configured address, "+" only when the operator asked for every address.
                    o.ConfigureHttpListener = (_, listener) =>
                    {
                        listener.Prefixes.Clear();
                        listener.Prefixes.Add(prefix);
                    };
                });
            }
            if (options.Otlp.Enabled)
            {
                metrics.AddOtlpExporter((exporter, reader) =>
                {
                    exporter.Endpoint = new Uri(options.Otlp.Endpoint!);
                    exporter.Protocol = options.Otlp.Protocol == "http/protobuf" ? OtlpExportProtocol.HttpProtobuf : OtlpExportProtocol.Grpc;
                    reader.PeriodicExportingMetricReaderOptions.ExportIntervalMilliseconds = options.Otlp.IntervalSeconds * 1000;
                });
            }
        });
    }
}
