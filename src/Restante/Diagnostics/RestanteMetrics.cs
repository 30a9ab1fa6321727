using System.Diagnostics.Metrics;

namespace Restante.Diagnostics;

/// <summary>
/// Every instrument the server records, on one <see cref="Meter"/> named <see cref="MeterName"/>. Tags are
/// low-cardinality by construction: a mechanism name from the server's own list, an outcome or end reason from a fixed
/// set, a protocol. Never a user name or an address, which would make one time series per client.
/// </summary>
/// <remarks>
/// Nothing is exported unless a listener subscribes (the `restante serve --metrics` exporter, or a test's
/// <see cref="MeterListener"/>): until then an <c>Add</c> or <c>Record</c> finds no subscriber and returns, and the
/// observable instruments' callbacks are never called. Names follow the OpenTelemetry conventions (dotted, unit
/// apart); a Prometheus exporter turns <c>restante.pop3.logins</c> into <c>restante_pop3_logins_total</c>.
/// </remarks>
public sealed class RestanteMetrics : IDisposable
{
    /// <summary>The meter's name, what an exporter subscribes to (OpenTelemetry: <c>AddMeter("Restante")</c>).</summary>
    public const string MeterName = "Restante";

    // Seconds; from a cached-page RETR (sub-millisecond) to a failed login held to its failure delay (2 s by default).
    private static readonly IReadOnlyList<double> s_latencyBuckets = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

    private readonly Counter<long> _sessionsEnded;
    private readonly Counter<long> _logins;
    private readonly Histogram<double> _loginDuration;
    private readonly Histogram<double> _retrDuration;
    private readonly Counter<long> _bytesSent;
    private readonly Counter<long> _lockRefusals;
    private readonly Counter<long> _deliveries;
    private readonly Counter<long> _connectionsRefused;
    private readonly Counter<long> _commandsBusy;
    private long _activeSessions;

    /// <param name="meterFactory">The host's factory (DI's AddMetrics); null makes a meter this object owns.</param>
    public RestanteMetrics(IMeterFactory? meterFactory = null)
    {
        var version = typeof(RestanteMetrics).Assembly.GetName().Version?.ToString();
        Meter = meterFactory?.Create(new MeterOptions(MeterName) { Version = version }) ?? new Meter(MeterName, version);
        var latency = new InstrumentAdvice<double> { HistogramBucketBoundaries = s_latencyBuckets };

        Meter.CreateObservableUpDownCounter("restante.pop3.sessions.active", () => Interlocked.Read(ref _activeSessions),
            "{session}", "POP3 sessions open now (after the PROXY header, from greeting to close).");
        _sessionsEnded = Meter.CreateCounter<long>("restante.pop3.sessions.ended", "{session}",
            "POP3 sessions that ended, by reason: quit, timeout, peer-closed, kicked, shutdown, error.");
        _logins = Meter.CreateCounter<long>("restante.pop3.logins", "{login}",
            "Login attempts by mechanism (USER/PASS, APOP, a SASL name, AUTH when refused before the mechanism was read) and outcome.");
        _loginDuration = Meter.CreateHistogram("restante.pop3.login.duration", "s",
            "From PASS/APOP/AUTH (or the last SASL response) to the answer; failures include the fixed failure delay.", tags: null, latency);
        _retrDuration = Meter.CreateHistogram("restante.pop3.retr.duration", "s",
            "RETR from the command to the message's last chunk flushed to the client.", tags: null, latency);
        _bytesSent = Meter.CreateCounter<long>("restante.pop3.message.sent", "By",
            "Message octets sent by RETR and TOP (as stored, before byte-stuffing).");
        _lockRefusals = Meter.CreateCounter<long>("restante.pop3.lock_refusals", "{login}",
            "Logins refused with [IN-USE]: the mailbox was held by another session.");
        _deliveries = Meter.CreateCounter<long>("restante.deliveries", "{recipient}",
            "Deliveries, one per recipient, by protocol (lmtp, smtp, deliver) and outcome.");
        _connectionsRefused = Meter.CreateCounter<long>("restante.connections.refused", "{connection}",
            "Connections closed at accept because a connection limit (total or per address) was reached, by protocol.");
        _commandsBusy = Meter.CreateCounter<long>("restante.pop3.descriptor_slots.refused", "{command}",
            "POP3 commands (RETR, TOP, login, QUIT) refused with [SYS/TEMP] because every descriptor slot for commands was taken.");
    }

    public Meter Meter { get; }

    /// <summary>Sessions open now, as <c>restante.pop3.sessions.active</c> reports them.</summary>
    public long ActiveSessions => Interlocked.Read(ref _activeSessions);

    /// <summary>Reports <paramref name="observe"/> as <c>restante.auth.throttled_addresses</c>, read at each collection.</summary>
    public void ObserveThrottledAddresses(Func<int> observe)
        => Meter.CreateObservableGauge("restante.auth.throttled_addresses", observe, "{address}",
            "Addresses (IPv6: blocks) whose logins are refused now after too many failures.");

    /// <summary>Reports <paramref name="observe"/> as <c>restante.auth.hashing.queue</c>, read at each collection.</summary>
    public void ObserveHashingQueue(Func<int> observe)
        => Meter.CreateObservableGauge("restante.auth.hashing.queue", observe, "{attempt}",
            "Login attempts waiting for a password-hashing worker; past the queue's capacity logins are refused as busy.");

    internal void SessionStarted() => Interlocked.Increment(ref _activeSessions);

    internal void SessionEnded(string reason)
    {
        Interlocked.Decrement(ref _activeSessions);
        _sessionsEnded.Add(1, new KeyValuePair<string, object?>("reason", reason));
    }

    internal void Login(string mechanism, string outcome)
        => _logins.Add(1, new("mechanism", mechanism), new("outcome", outcome));

    /// <summary>A login that got an answer after its attempt began: counted, and its time recorded.</summary>
    internal void Login(string mechanism, string outcome, TimeSpan elapsed)
    {
        Login(mechanism, outcome);
        if (_loginDuration.Enabled) _loginDuration.Record(elapsed.TotalSeconds, new("mechanism", mechanism), new("outcome", outcome));
    }

    /// <summary>Whether anyone records RETR times: the caller takes no timestamp when not.</summary>
    internal bool TimesRetrieval => _retrDuration.Enabled;

    internal void Retrieved(TimeSpan elapsed) => _retrDuration.Record(elapsed.TotalSeconds);

    internal void Sent(long octets) => _bytesSent.Add(octets);

    internal void LockRefused() => _lockRefusals.Add(1);

    internal void Delivered(string protocol, string outcome)
        => _deliveries.Add(1, new("protocol", protocol), new("outcome", outcome));

    internal void ConnectionRefused(string protocol) => _connectionsRefused.Add(1, new KeyValuePair<string, object?>("protocol", protocol));

    internal void DescriptorSlotRefused() => _commandsBusy.Add(1);

    public void Dispose() => Meter.Dispose();
}
