using System.Net;
using Restante.Networking;

namespace Restante.Cli;

/// <summary>
/// The "Metrics" section: where the Prometheus scrape endpoint listens and where OTLP goes. Both off by default:
/// the instruments then have no listener and cost nothing.
/// </summary>
internal sealed class MetricsOptions
{
    /// <summary>Address:port of the Prometheus scrape endpoint (path /metrics), e.g. 127.0.0.1:9110; empty: none.</summary>
    public string? Listen { get; set; }

    /// <summary>
    /// Lets <see cref="Listen"/> be a non-loopback address. The endpoint has neither authentication nor TLS (HttpListener,
    /// plain HTTP), and the numbers tell an outsider how busy the server is and whether a guessing attack is being
    /// throttled; so, like Dovecot's and Postfix's admin ports, it stays local unless the operator says otherwise
    /// (a container whose port is published only to the Prometheus network, a firewall in front).
    /// </summary>
    public bool AllowRemote { get; set; }

    public OtlpOptions Otlp { get; set; } = new();

    public bool Enabled => !string.IsNullOrWhiteSpace(Listen) || Otlp.Enabled;

    public IEnumerable<string> Validate()
    {
        if (!string.IsNullOrWhiteSpace(Listen))
        {
            if (!ListenAddress.TryParse(Listen, out var endPoint, out var error))
                yield return $"Metrics:Listen: {error}";
            else if (endPoint.Port == 0)
                yield return $"Metrics:Listen: '{Listen}' needs a fixed port (the scrape endpoint cannot report a chosen one).";
            else if (!IsLoopback(endPoint.Address) && !AllowRemote)
                yield return $"Metrics:Listen: '{Listen}' is not a loopback address; the metrics endpoint has no authentication. Set Metrics:AllowRemote (--metrics-allow-remote) to expose it anyway.";
        }
        if (!string.IsNullOrWhiteSpace(Otlp.Endpoint) && !Uri.TryCreate(Otlp.Endpoint, UriKind.Absolute, out _))
            yield return $"Metrics:Otlp:Endpoint: '{Otlp.Endpoint}' is not an absolute URI (for example http://127.0.0.1:4317).";
        if (Otlp.Protocol is not (null or "grpc" or "http/protobuf"))
            yield return $"Metrics:Otlp:Protocol: '{Otlp.Protocol}' is neither grpc nor http/protobuf.";
        if (Otlp.IntervalSeconds is < 1 or > 3600)
            yield return $"Metrics:Otlp:IntervalSeconds: {Otlp.IntervalSeconds} is outside 1..3600.";
    }

    /// <summary>The HttpListener prefix for <see cref="Listen"/>: "+" for the any-address, brackets for IPv6.</summary>
    public string ScrapePrefix()
    {
        var endPoint = ListenAddress.Parse(Listen!);
        var host = endPoint.Address.Equals(IPAddress.Any) || endPoint.Address.Equals(IPAddress.IPv6Any) ? "+"
            : endPoint.AddressFamily == System.Net.Sockets.AddressFamily.InterNetworkV6 ? $"[{endPoint.Address}]"
            : endPoint.Address.ToString();
        return $"http://{host}:{endPoint.Port}/metrics/";
    }

    private static bool IsLoopback(IPAddress address) => IPAddress.IsLoopback(address.IsIPv4MappedToIPv6 ? address.MapToIPv4() : address);

    internal sealed class OtlpOptions
    {
        /// <summary>The collector, e.g. http://127.0.0.1:4317 (grpc) or http://127.0.0.1:4318/v1/metrics (http/protobuf).</summary>
        public string? Endpoint { get; set; }

        /// <summary>grpc (the default) or http/protobuf.</summary>
        public string? Protocol { get; set; }

        /// <summary>How often the metrics are pushed.</summary>
        public int IntervalSeconds { get; set; } = 60;

        public bool Enabled => !string.IsNullOrWhiteSpace(Endpoint);
    }
}
