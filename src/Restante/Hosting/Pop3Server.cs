using System.Net;
using System.Net.Sockets;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Restante.Auth;
using Restante.Delivery;
using Restante.Diagnostics;
using Restante.Lmtp;
using Restante.Networking;
using Restante.Pop3;
using Restante.Storage;

namespace Restante.Hosting;

/// <summary>
/// A running Restante: the store, the user directory and the listeners, wired together. The
/// command-line host and tests both start one of these.
/// </summary>
public sealed partial class Pop3Server : IAsyncDisposable
{
    private readonly List<ConnectionListener> _listeners = [];
    private readonly List<ConnectionListener> _pop3sListeners = [];
    private readonly ILoggerFactory _loggerFactory;
    private readonly Pop3ServerContext _context;
    /// <summary>Reads the PROXY header on the listeners that expect one; null: none does.</summary>
    private readonly ProxyProtocolAcceptor? _proxy;
    private readonly RestanteOptions _options;
    private readonly ConnectionGate _gate;
    private readonly ConnectionGate _lmtpGate;
    private readonly ConnectionGate _smtpGate;
    private readonly List<ConnectionListener> _lmtpListeners = [];
    private readonly List<ConnectionListener> _smtpListeners = [];
    private readonly LmtpServerContext _lmtpContext;
    private readonly bool _ownedStore;
    private readonly bool _ownedMetrics;
    private readonly TimeProvider _time;
    private RetentionPurger? _purger;

    /// <param name="metrics">Where the server records its metrics; null: a meter of its own, disposed with the server.</param>
    /// <param name="sessionHooks">Observers of every POP3 session (the test kit's transcripts and faults); null for none.</param>
    /// <param name="store">The one store of this server; null: the one <see cref="RestanteOptions.Store"/> names among the
    /// library's own (maildir, memory), owned and disposed by this server.</param>
    public Pop3Server(RestanteOptions options, Pop3Options pop3Options, ILoggerFactory? loggerFactory = null,
        IMailBackend? store = null, IUserDirectory? users = null, TimeProvider? timeProvider = null,
        ConnectionLimitOptions? limits = null, LoginThrottleOptions? throttleOptions = null,
        ListenerConnectionLimits? lmtpConnections = null, ListenerConnectionLimits? smtpConnections = null, LmtpLimits? lmtpLimits = null,
        IPop3SessionHooks? sessionHooks = null, RestanteMetrics? metrics = null)
    {
        limits ??= new ConnectionLimitOptions();
        throttleOptions ??= new LoginThrottleOptions();
        lmtpConnections ??= new ListenerConnectionLimits();
        smtpConnections ??= new ListenerConnectionLimits();
        LmtpLimits = lmtpLimits ?? new LmtpLimits();
        _settings = new RestanteSettings
        {
            Server = options, Pop3 = pop3Options, Connections = limits, LoginThrottle = throttleOptions,
            LmtpConnections = lmtpConnections, SmtpConnections = smtpConnections, LmtpLimits = LmtpLimits,
        };
        var problems = _settings.Validate().ToList();
        if (problems.Count > 0) throw new InvalidOperationException("Invalid configuration: " + string.Join(" ", problems));

        _options = options;
        _time = timeProvider ?? TimeProvider.System;
        _loggerFactory = loggerFactory ?? NullLoggerFactory.Instance;
        Directory.CreateDirectory(options.DataDirectory);
        _ownedStore = store is null;
        Store = store ?? MailStoreProviders.Create(MailStoreProviders.BuiltIn, options, _loggerFactory, timeProvider);
        Users = users ?? UserDirectoryProviders.Create([UserDirectoryProviders.Passwd], options, _loggerFactory);
        _trusted = limits.BuildTrustedNetworks();
        _proxy = options.AnyProxyListener
            ? new ProxyProtocolAcceptor(TrustedNetworks.Parse(options.ProxyTrustedNetworks, trustLoopback: false),
                _loggerFactory.CreateLogger("Restante.Networking"))
            : null;
        var fitted = FitDescriptorLimit(Wanted(_settings));
        var gates = GateLimitsFor(_settings, fitted, _trusted);
        _gate = new ConnectionGate(gates.Pop3.MaxConnections, gates.Pop3.MaxPerAddress, gates.Pop3.Trusted, gates.Pop3.Ipv6PrefixLength);
        _lmtpGate = new ConnectionGate(gates.Lmtp.MaxConnections, gates.Lmtp.MaxPerAddress, gates.Lmtp.Trusted, gates.Lmtp.Ipv6PrefixLength);
        _smtpGate = new ConnectionGate(gates.Smtp.MaxConnections, gates.Smtp.MaxPerAddress, gates.Smtp.Trusted, gates.Smtp.Ipv6PrefixLength);
        var throttle = new LoginThrottle(throttleOptions, IsTrusted, timeProvider, _loggerFactory.CreateLogger("Restante.Auth.LoginThrottle"));
        Certificates = options.Tls ? LoadCertificates(options, _loggerFactory.CreateLogger("Restante.Tls"), timeProvider) : null;
        PasswordHashing = new PasswordHashing(pop3Options.PasswordHashWorkers, pop3Options.PasswordHashQueue);
        _ownedMetrics = metrics is null;
        Metrics = metrics ?? new RestanteMetrics();
        Metrics.ObserveThrottledAddresses(() => throttle.BlockedCount);
        Metrics.ObserveHashingQueue(() => PasswordHashing.QueueDepth);
        _context = new Pop3ServerContext(pop3Options, Store, new Authenticator(Users, PasswordHashing), _loggerFactory, timeProvider, throttle)
        {
            Certificates = Certificates, Hooks = sessionHooks, Metrics = Metrics,
        };
        _context.CommandDescriptors = NewCommandGate(
            _descriptorBudget is { } budget ? FileDescriptorLimit.CommandSlots(fitted, budget, Pop3Descriptors) : null);
        LocalDelivery = new LocalDelivery(Users, Store, Store, new LocalDeliveryOptions
        {
            LocalDomains = options.LocalDomains.Where(d => !string.IsNullOrWhiteSpace(d)).ToList(),
            DefaultQuota = options.EffectiveDefaultQuota,
            MaxMessageSize = options.EffectiveMaxMessageSize,
            SpoolDirectory = options.EffectiveSpoolDirectory,
            Hostname = _context.Hostname,
        }, _loggerFactory.CreateLogger("Restante.Delivery"), timeProvider) { Metrics = Metrics };
        _lmtpContext = new LmtpServerContext(LocalDelivery, LmtpLimits, _loggerFactory, timeProvider);
    }

    /// <summary>The configured PEM files, or the development certificate in DATA/tls/, created when missing or expired.</summary>
    private static CertificateProvider LoadCertificates(RestanteOptions options, ILogger logger, TimeProvider? timeProvider)
    {
        if (!string.IsNullOrWhiteSpace(options.TlsCertificate))
            return new CertificateProvider(options.TlsCertificate, options.TlsKey, logger, timeProvider) { AllowResumption = options.TlsResumption };
        var directory = options.DevCertificateDirectory;
        if (!DevCertificate.IsUsable(directory))
        {
            using var created = DevCertificate.Create(directory, timeProvider);
            DevCertificateCreated(logger, DevCertificate.CertificatePath(directory));
        }
        return new CertificateProvider(DevCertificate.CertificatePath(directory), DevCertificate.KeyPath(directory), logger, timeProvider)
        {
            AllowResumption = options.TlsResumption,
        };
    }

    /// <summary>Local delivery as the LMTP and SMTP listeners do it (recipient checks, quota, trace headers).</summary>
    public LocalDelivery LocalDelivery { get; }

    /// <summary>Timeouts and limits of LMTP/SMTP sessions; change them before <see cref="StartAsync"/>.</summary>
    public LmtpLimits LmtpLimits { get; }

    /// <summary>The LMTP addresses actually bound: <see cref="IPEndPoint"/>s or Unix-domain socket endpoints.</summary>
    public IReadOnlyList<EndPoint> LmtpEndPoints => _lmtpListeners.Select(l => l.EndPoint).ToList();

    /// <summary>The SMTP addresses actually bound.</summary>
    public IReadOnlyList<EndPoint> SmtpEndPoints => _smtpListeners.Select(l => l.EndPoint).ToList();

    /// <summary>The one store: POP3 opens maildrops from it, LMTP/SMTP deliver into it, quota measures it.</summary>
    public IMailBackend Store { get; }

    /// <summary>The instruments of this server's meter (sessions, logins, bytes, deliveries, refusals).</summary>
    public RestanteMetrics Metrics { get; }

    /// <summary>Failed-login counting and blocking (per address, per user).</summary>
    public LoginThrottle LoginThrottle => _context.Throttle;

    /// <summary>The POP3 sessions running now (the control socket lists and kicks them).</summary>
    public Admin.SessionRegistry Sessions => _context.Sessions;

    /// <summary>The busy share of the descriptor budget; tests replace it with a smaller one.</summary>
    internal CommandDescriptorGate CommandDescriptors { get => _context.CommandDescriptors; set => _context.CommandDescriptors = value; }

    /// <summary>The threads password hashes run on; <see cref="Auth.PasswordHashing.QueueDepth"/> is the login backlog.</summary>
    public PasswordHashing PasswordHashing { get; }

    public IUserDirectory Users { get; }

    /// <summary>The TLS certificate for STLS and POP3S; null when <see cref="RestanteOptions.Tls"/> is off.</summary>
    public CertificateProvider? Certificates { get; }

    /// <summary>The POP3 addresses actually bound (with port 0 requested, the chosen port).</summary>
    public IReadOnlyList<IPEndPoint> Pop3EndPoints => _listeners.Select(l => l.LocalEndPoint).ToList();

    /// <summary>The POP3S (implicit TLS) addresses actually bound.</summary>
    public IReadOnlyList<IPEndPoint> Pop3sEndPoints => _pop3sListeners.Select(l => l.LocalEndPoint).ToList();

    public int ActiveSessions => AllListeners.Sum(l => l.ActiveConnections);

    private IEnumerable<ConnectionListener> AllListeners => _listeners.Concat(_pop3sListeners);

    private IEnumerable<ConnectionListener> EveryListener => AllListeners.Concat(_lmtpListeners).Concat(_smtpListeners);

    public Task StartAsync(CancellationToken cancellationToken = default)
    {
        var logger = _loggerFactory.CreateLogger("Restante.Networking");
        try
        {
            foreach (var address in _options.EffectivePop3)
            {
                cancellationToken.ThrowIfCancellationRequested();
                var listener = ConnectionListener.Bind(ListenAddress.Parse(address), logger);
                _listeners.Add(listener);
                TcpKeepAlive.ApplyToListener(listener.ListeningSocket, _context.Options.TcpKeepAlive);
                var proxy = _options.Pop3ExpectsProxyHeader(address) ? _proxy : null;
                // RFC 3206 [SYS/TEMP]: the client may come back later.
                listener.Start((socket, stopping) => RunSessionAsync(socket, implicitTls: false, proxy, stopping), _gate,
                    "-ERR [SYS/TEMP] Too many connections, try again later.\r\n"u8.ToArray(), () => Metrics.ConnectionRefused("pop3"));
            }
            foreach (var address in _options.EffectivePop3s)
            {
                cancellationToken.ThrowIfCancellationRequested();
                var listener = ConnectionListener.Bind(ListenAddress.Parse(address), logger);
                _pop3sListeners.Add(listener);
                TcpKeepAlive.ApplyToListener(listener.ListeningSocket, _context.Options.TcpKeepAlive);
                var proxy = _options.Pop3ExpectsProxyHeader(address) ? _proxy : null;
                // A POP3S client expects a TLS handshake, to which a plaintext -ERR is noise: it is just closed.
                listener.Start((socket, stopping) => RunSessionAsync(socket, implicitTls: true, proxy, stopping), _gate,
                    refused: () => Metrics.ConnectionRefused("pop3s"));
            }
            foreach (var address in _options.EffectiveLmtp)
                _lmtpListeners.Add(StartDeliveryListener(address, DeliveryDialect.Lmtp, logger));
            if (_options.Retention.Enabled && Store is IMessageRetention retention && _purger is null)
                _purger = new RetentionPurger(retention, _options.Retention, _time, _loggerFactory.CreateLogger("Restante.Retention"));
            foreach (var address in _options.EffectiveSmtp)
                _smtpListeners.Add(StartDeliveryListener(address, DeliveryDialect.Smtp, logger));
        }
        catch
        {
            foreach (var listener in EveryListener) _ = listener.DisposeAsync();
            _listeners.Clear();
            _pop3sListeners.Clear();
            _lmtpListeners.Clear();
            _smtpListeners.Clear();
            throw;
        }
        return Task.CompletedTask;
    }

    /// <param name="proxy">Reads the PROXY header first; null when this listener expects none.</param>
    private Task RunSessionAsync(Socket socket, bool implicitTls, ProxyProtocolAcceptor? proxy, CancellationToken stopping)
    {
        TcpKeepAlive.Apply(socket, _context.Options.TcpKeepAlive);
        return proxy is null ? SessionFrames.RunDirect(_context, socket, implicitTls, stopping) : RunProxiedSessionAsync(socket, implicitTls, proxy, stopping);
    }

    private async Task RunProxiedSessionAsync(Socket socket, bool implicitTls, ProxyProtocolAcceptor proxy, CancellationToken stopping)
    {
        var stream = new NetworkStream(socket, ownsSocket: false);
        await using (stream.ConfigureAwait(false))
        {
            var peer = await proxy.ReadClientAsync(stream, socket.RemoteEndPoint, stopping).ConfigureAwait(false);
            if (peer is null) return;   // closed by the listener
            var session = new Pop3Session(_context, stream, peer, implicitTls);
            await session.RunAsync(stopping).ConfigureAwait(false);
        }
    }

    /// <summary>Descriptors one POP3 session holds with this server's store (a Maildir holds most).</summary>
    private int Pop3Descriptors => Store is Storage.Maildir.MaildirStore ? FileDescriptorLimit.PerPop3Session : FileDescriptorLimit.PerPop3SessionWithoutMaildir;

    /// <summary>
    /// Raises the descriptor limit as far as allowed and, when the connection limits could need
    /// more than is left of it, holds every listener to a proportional share and warns. Running out
    /// is not survivable: at EMFILE the runtime cannot start a thread and aborts ("Out of memory.").
    /// Scaling down rather than refusing to start: a default install on a host with a low hard
    /// limit still runs, with fewer connections, and the log says which keys to change.
    /// </summary>
    private ConnectionShares FitDescriptorLimit(ConnectionShares wanted)
    {
        var logger = _loggerFactory.CreateLogger("Restante.Networking");
        if (FileDescriptorLimit.Raise() is not var (soft, hard) || FileDescriptorLimit.InUse() is not { } inUse) return wanted;
        var available = (long)Math.Min(soft, long.MaxValue) - inUse - FileDescriptorLimit.Headroom;
        _descriptorBudget = available;
        var needed = FileDescriptorLimit.Needed(wanted, Pop3Descriptors);
        FileDescriptorLimitRaised(logger, soft, hard, inUse, needed);
        var fitted = FileDescriptorLimit.Fit(wanted, available, Pop3Descriptors);
        if (fitted != wanted) FileDescriptorLimitTooLow(logger, soft, needed, fitted.Pop3, fitted.Lmtp, fitted.Smtp);
        return fitted;
    }

    private ConnectionListener StartDeliveryListener(string address, DeliveryDialect dialect, ILogger logger)
    {
        var listener = ListenAddress.TryGetSocketPath(address, out var path)
            ? ConnectionListener.BindUnix(path, logger)
            : ConnectionListener.Bind(ListenAddress.Parse(address), logger);
        // RFC 5321 §3.8 / §4.2: 421 is "service not available, closing", the domain first; the
        // client keeps the message queued and tries again later (RFC 3463 X.3.2: not accepting messages now).
        var refusal = System.Text.Encoding.ASCII.GetBytes($"421 4.3.2 {_lmtpContext.Hostname} Too many connections, try again later\r\n");
        var proxy = _options.DeliveryExpectsProxyHeader(address) ? _proxy : null;
        listener.Start((socket, stopping) => RunDeliverySessionAsync(socket, dialect, proxy, stopping),
            dialect == DeliveryDialect.Lmtp ? _lmtpGate : _smtpGate, refusal,
            () => Metrics.ConnectionRefused(dialect == DeliveryDialect.Lmtp ? "lmtp" : "smtp"));
        return listener;
    }

    private async Task RunDeliverySessionAsync(Socket socket, DeliveryDialect dialect, ProxyProtocolAcceptor? proxy, CancellationToken stopping)
    {
        var stream = new NetworkStream(socket, ownsSocket: false);
        await using (stream.ConfigureAwait(false))
        {
            var peer = socket.RemoteEndPoint;
            if (proxy is not null)
            {
                // Before the 220 greeting (RFC 5321 §3.1): the balancer's header precedes anything either side says.
                peer = await proxy.ReadClientAsync(stream, peer, stopping).ConfigureAwait(false);
                if (peer is null) return;
            }
            var session = new LmtpSession(_lmtpContext, dialect, stream, peer);
            await session.RunAsync(stopping).ConfigureAwait(false);
        }
    }

    /// <summary>Stops listening and ends every session without entering UPDATE: nothing is deleted.</summary>
    public async Task StopAsync()
    {
        await Task.WhenAll(EveryListener.Select(l => l.StopAsync())).ConfigureAwait(false);
    }

    public async ValueTask DisposeAsync()
    {
        foreach (var listener in EveryListener) await listener.DisposeAsync().ConfigureAwait(false);
        _listeners.Clear();
        _pop3sListeners.Clear();
        _lmtpListeners.Clear();
        _smtpListeners.Clear();
        if (_purger is not null) await _purger.DisposeAsync().ConfigureAwait(false);
        PasswordHashing.Dispose();
        if (_ownedStore && Store is IAsyncDisposable disposable) await disposable.DisposeAsync().ConfigureAwait(false);
        if (_ownedMetrics) Metrics.Dispose();
    }

    [LoggerMessage(24, LogLevel.Information, "File descriptor limit {Soft} (hard {Hard}), {InUse} in use; the connection limits may need {Needed}", EventName = "FileDescriptorLimit")]
    private static partial void FileDescriptorLimitRaised(ILogger logger, ulong soft, ulong hard, int inUse, long needed);

    [LoggerMessage(25, LogLevel.Warning, "File descriptor limit {Limit} is too low for the {Needed} the connection limits may need: holding at most {Pop3} POP3, {Lmtp} LMTP and {Smtp} SMTP connections instead. Raise LimitNOFILE (ulimit -n) or lower MaxConnections, LmtpConnections:MaxConnections, SmtpConnections:MaxConnections", EventName = "FileDescriptorLimitTooLow")]
    private static partial void FileDescriptorLimitTooLow(ILogger logger, ulong limit, long needed, int pop3, int lmtp, int smtp);

    [LoggerMessage(23, LogLevel.Warning, "Created a self-signed development certificate for localhost in {Path}; clients must be told to trust it. Set TlsCertificate and TlsKey for production", EventName = "DevCertificateCreated")]
    private static partial void DevCertificateCreated(ILogger logger, string path);

    /// <summary>The gate of busy commands' descriptor slots (null: no budget known, no limit), at start and at reload.</summary>
    private CommandDescriptorGate NewCommandGate(int? slots)
        => new(slots, _loggerFactory.CreateLogger("Restante.Networking"), refused: Metrics.DescriptorSlotRefused);
}
