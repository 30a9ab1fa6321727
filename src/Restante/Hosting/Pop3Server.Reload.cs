using System.Net;
using Microsoft.Extensions.Logging;
using Restante.Networking;

namespace Restante.Hosting;

/// <summary>A configuration reload (SIGHUP): what can change under running sessions changes, the rest waits for a restart.</summary>
public sealed partial class Pop3Server
{
    /// <summary>
    /// Keys a reload applies to a running server; a key is live when it is listed or lies in a listed section
    /// (ending in ':'). Everything else (listen addresses, the store, POP3 session options, PROXY
    /// listeners) is fixed at start: a listener is bound, a store is open, sessions hold their options.
    /// </summary>
    private static readonly string[] LiveKeys =
    [
        "MaxConnections", "MaxConnectionsPerIp", "Ipv6PrefixLength", "TrustedNetworks", "TrustLoopback",
        "LmtpConnections:", "SmtpConnections:", "LoginThrottle:", "TlsCertificate", "TlsKey",
    ];

    /// <summary>The settings the server runs with: those it started with, with each live key as last reloaded.</summary>
    private RestanteSettings _settings;

    /// <summary>Loopback and TrustedNetworks: exempt from per-address limits and throttling. Swapped by a reload.</summary>
    private volatile TrustedNetworks _trusted;

    /// <summary>Descriptors left for connections when the server started (null: unknown); a reload's limits are fitted into it.</summary>
    private long? _descriptorBudget;

    private readonly Lock _reloadLock = new();

    private bool IsTrusted(IPAddress? address) => _trusted.Contains(address);

    /// <summary>
    /// Applies <paramref name="next"/> to the running server without touching a session: connection limits
    /// (POP3, LMTP, SMTP), trusted networks, login throttling, and the TLS certificate and key, which are
    /// read again now (even when their paths did not change) for the handshakes that follow. Keys that
    /// cannot change while running keep their running values and are named in a warning. When
    /// <paramref name="next"/> is invalid, or the certificate does not load, nothing changes and the
    /// problems are logged as an error. The user file needs nothing: it is re-read whenever it changes.
    /// </summary>
    /// <param name="appliedByHost">Keys the host applied itself (log levels), for the summary line.</param>
    public ConfigurationReload Reload(RestanteSettings next, IReadOnlyCollection<string>? appliedByHost = null)
    {
        ArgumentNullException.ThrowIfNull(next);
        var logger = _loggerFactory.CreateLogger("Restante.Hosting");
        lock (_reloadLock)
        {
            var problems = next.Validate().ToList();
            if (problems.Count == 0 && Certificates is { } certificates && next.Server.Tls == _settings.Server.Tls
                && !certificates.TryReload(CertificateFile(next.Server), CertificateKeyFile(next.Server), out var tlsProblem))
                problems.Add(tlsProblem);
            if (problems.Count > 0)
            {
                ReloadRefused(logger, string.Join(" ", problems));
                return new ConfigurationReload([], [], problems);
            }

            var running = _settings.Flatten().ToDictionary(s => s.Key, s => s.Value, StringComparer.Ordinal);
            var changed = next.Flatten().Where(s => !running.TryGetValue(s.Key, out var value) || value != s.Value).Select(s => s.Key).ToList();
            var applied = changed.Where(IsLive).ToList();
            var fixedAtStart = changed.Where(k => !IsLive(k)).ToList();

            var kept = _settings.Server;
            kept.TlsCertificate = next.Server.TlsCertificate;
            kept.TlsKey = next.Server.TlsKey;
            _settings = new RestanteSettings
            {
                Server = kept, Pop3 = _settings.Pop3, LmtpLimits = _settings.LmtpLimits,
                Connections = next.Connections, LoginThrottle = next.LoginThrottle,
                LmtpConnections = next.LmtpConnections, SmtpConnections = next.SmtpConnections,
            };
            _trusted = next.Connections.BuildTrustedNetworks();
            var fitted = FitIntoBudget(Wanted(_settings));
            var gates = GateLimitsFor(_settings, fitted, _trusted);
            // The command slots are what the budget leaves after idle sessions: more connections leave fewer. A new gate
            // for new limits (sends under way keep their slot of the old one until they end; no reload is a client's doing).
            if (_descriptorBudget is { } budget && FileDescriptorLimit.CommandSlots(fitted, budget, Pop3Descriptors) is var slots
                && slots != _context.CommandDescriptors.Capacity)
                _context.CommandDescriptors = NewCommandGate(slots);
            _gate.Update(gates.Pop3.MaxConnections, gates.Pop3.MaxPerAddress, gates.Pop3.Trusted, gates.Pop3.Ipv6PrefixLength);
            _lmtpGate.Update(gates.Lmtp.MaxConnections, gates.Lmtp.MaxPerAddress, gates.Lmtp.Trusted, gates.Lmtp.Ipv6PrefixLength);
            _smtpGate.Update(gates.Smtp.MaxConnections, gates.Smtp.MaxPerAddress, gates.Smtp.Trusted, gates.Smtp.Ipv6PrefixLength);
            LoginThrottle.Update(next.LoginThrottle, IsTrusted);

            var reported = applied.Concat(appliedByHost ?? []).ToList();
            Reloaded(logger, reported.Count == 0 ? "no setting changed" : string.Join(", ", reported) + " changed",
                Certificates is null ? "" : $"; TLS certificate read from {Certificates.CertificatePath}");
            if (fixedAtStart.Count > 0) ReloadCannotApply(logger, string.Join(", ", fixedAtStart));
            return new ConfigurationReload(reported, fixedAtStart, []);
        }
    }

    private static bool IsLive(string key)
        => LiveKeys.Any(live => live.EndsWith(':') ? key.StartsWith(live, StringComparison.Ordinal) : key == live);

    private static string CertificateFile(RestanteOptions options)
        => string.IsNullOrWhiteSpace(options.TlsCertificate) ? DevCertificate.CertificatePath(options.DevCertificateDirectory) : options.TlsCertificate;

    private static string? CertificateKeyFile(RestanteOptions options)
        => string.IsNullOrWhiteSpace(options.TlsCertificate) ? DevCertificate.KeyPath(options.DevCertificateDirectory) : options.TlsKey;

    /// <summary>The total each kind of listener may hold, as configured (0 for a kind with no listener).</summary>
    private static ConnectionShares Wanted(RestanteSettings settings) => new(
        settings.Server.EffectivePop3.Count + settings.Server.EffectivePop3s.Count > 0 ? settings.Connections.MaxConnections : 0,
        settings.Server.EffectiveLmtp.Count > 0 ? settings.LmtpConnections.MaxConnections : 0,
        settings.Server.EffectiveSmtp.Count > 0 ? settings.SmtpConnections.MaxConnections : 0);

    /// <summary>
    /// A reload's totals fitted into the descriptors that were free at start: measuring again now would count
    /// the open sessions' descriptors against the limits that already include them.
    /// </summary>
    private ConnectionShares FitIntoBudget(ConnectionShares wanted)
    {
        if (_descriptorBudget is not { } budget) return wanted;
        var fitted = FileDescriptorLimit.Fit(wanted, budget, Pop3Descriptors);
        if (fitted != wanted)
            FileDescriptorLimitTooLow(_loggerFactory.CreateLogger("Restante.Networking"), (ulong)Math.Max(0, budget),
                FileDescriptorLimit.Needed(wanted, Pop3Descriptors), fitted.Pop3, fitted.Lmtp, fitted.Smtp);
        return fitted;
    }

    private readonly record struct GateLimits(int MaxConnections, int MaxPerAddress, TrustedNetworks Trusted, int Ipv6PrefixLength);

    private readonly record struct Gates(GateLimits Pop3, GateLimits Lmtp, GateLimits Smtp);

    /// <summary>
    /// Each kind of listener's limits, the totals fitted into the descriptor budget. Behind a balancer every
    /// connection comes from its address, and a gate counts at accept, before the PROXY header names the
    /// client: where a kind has a listener that expects the header, the balancers are exempt from its
    /// per-address limit (the total still holds); throttling and the plaintext policy see the client the header names.
    /// </summary>
    /// <param name="plain">The trusted networks of <paramref name="settings"/>, as parsed once for the server.</param>
    private static Gates GateLimitsFor(RestanteSettings settings, ConnectionShares shares, TrustedNetworks plain)
    {
        var options = settings.Server;
        var limits = settings.Connections;
        var withBalancers = plain.With(TrustedNetworks.Parse(options.ProxyTrustedNetworks, trustLoopback: false));
        var pop3Proxied = options.EffectivePop3.Concat(options.EffectivePop3s).Any(options.Pop3ExpectsProxyHeader);
        var lmtpProxied = options.EffectiveLmtp.Any(options.DeliveryExpectsProxyHeader);
        var smtpProxied = options.EffectiveSmtp.Any(options.DeliveryExpectsProxyHeader);
        return new Gates(
            new GateLimits(shares.Pop3, limits.MaxConnectionsPerIp, pop3Proxied ? withBalancers : plain, limits.Ipv6PrefixLength),
            new GateLimits(shares.Lmtp, settings.LmtpConnections.MaxConnectionsPerIp, lmtpProxied ? withBalancers : plain, limits.Ipv6PrefixLength),
            new GateLimits(shares.Smtp, settings.SmtpConnections.MaxConnectionsPerIp, smtpProxied ? withBalancers : plain, limits.Ipv6PrefixLength));
    }

    [LoggerMessage(40, LogLevel.Information, "Configuration reloaded: {Changes}{Tls}", EventName = "ConfigurationReloaded")]
    private static partial void Reloaded(ILogger logger, string changes, string tls);

    [LoggerMessage(41, LogLevel.Warning, "Configuration reload: {Keys} cannot change while running; the running values stay until a restart", EventName = "ConfigurationReloadNeedsRestart")]
    private static partial void ReloadCannotApply(ILogger logger, string keys);

    [LoggerMessage(42, LogLevel.Error, "Configuration reload refused, the running configuration stays: {Problems}", EventName = "ConfigurationReloadRefused")]
    private static partial void ReloadRefused(ILogger logger, string problems);
}

/// <summary>What a reload did: the keys applied, the keys that wait for a restart, or why nothing was applied.</summary>
public sealed record ConfigurationReload(IReadOnlyList<string> Applied, IReadOnlyList<string> NeedRestart, IReadOnlyList<string> Problems)
{
    public bool Succeeded => Problems.Count == 0;
}
