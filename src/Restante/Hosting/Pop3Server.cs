using System.Net;
using System.Net.Sockets;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Restante.Auth;
using Restante.Delivery;
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
    private readonly RestanteOptions _options;
    private readonly ConnectionGate _gate;
    private readonly List<ConnectionListener> _lmtpListeners = [];
    private readonly List<ConnectionListener> _smtpListeners = [];
    private readonly LmtpServerContext _lmtpContext;
    private readonly bool _ownedStore;

    /// <param name="sessionHooks">Observers of every POP3 session (the test kit's transcripts and faults); null for none.</param>
    /// <param name="store">The one store of this server; null: the one <see cref="RestanteOptions.Store"/> names among the
    /// library's own (maildir, memory), owned and disposed by this server.</param>
    public Pop3Server(RestanteOptions options, Pop3Options pop3Options, ILoggerFactory? loggerFactory = null,
        IMailBackend? store = null, IUserDirectory? users = null, TimeProvider? timeProvider = null,
        ConnectionLimitOptions? limits = null, LoginThrottleOptions? throttleOptions = null, IPop3SessionHooks? sessionHooks = null)
    {
        limits ??= new ConnectionLimitOptions();
        throttleOptions ??= new LoginThrottleOptions();
        var problems = options.Validate().Concat(pop3Options.Validate()).Concat(limits.Validate()).Concat(throttleOptions.Validate()).ToList();
        if (problems.Count > 0) throw new InvalidOperationException("Invalid configuration: " + string.Join(" ", problems));

        _options = options;
        _loggerFactory = loggerFactory ?? NullLoggerFactory.Instance;
        Directory.CreateDirectory(options.DataDirectory);
        _ownedStore = store is null;
        Store = store ?? MailStoreProviders.Create(MailStoreProviders.BuiltIn, options, _loggerFactory);
        Users = users ?? UserDirectoryProviders.Create([UserDirectoryProviders.Passwd], options, _loggerFactory);
        var trusted = limits.BuildTrustedNetworks();
        _gate = new ConnectionGate(limits, trusted);
        var throttle = new LoginThrottle(throttleOptions, trusted.Contains, timeProvider, _loggerFactory.CreateLogger("Restante.Auth.LoginThrottle"));
        Certificates = options.Tls ? LoadCertificates(options, _loggerFactory.CreateLogger("Restante.Tls"), timeProvider) : null;
        _context = new Pop3ServerContext(pop3Options, Store, new Authenticator(Users), _loggerFactory, timeProvider, throttle) { Certificates = Certificates, Hooks = sessionHooks };
        LocalDelivery = new LocalDelivery(Users, Store, Store, new LocalDeliveryOptions
        {
            LocalDomains = options.LocalDomains.Where(d => !string.IsNullOrWhiteSpace(d)).ToList(),
            DefaultQuota = options.EffectiveDefaultQuota,
            MaxMessageSize = options.EffectiveMaxMessageSize,
            SpoolDirectory = options.EffectiveSpoolDirectory,
            Hostname = _context.Hostname,
        }, _loggerFactory.CreateLogger("Restante.Delivery"), timeProvider);
        _lmtpContext = new LmtpServerContext(LocalDelivery, LmtpLimits, _loggerFactory, timeProvider);
    }

    /// <summary>The configured PEM files, or the development certificate in DATA/tls/, created when missing or expired.</summary>
    private static CertificateProvider LoadCertificates(RestanteOptions options, ILogger logger, TimeProvider? timeProvider)
    {
        if (!string.IsNullOrWhiteSpace(options.TlsCertificate))
            return new CertificateProvider(options.TlsCertificate, options.TlsKey, logger, timeProvider);
        var directory = options.DevCertificateDirectory;
        if (!DevCertificate.IsUsable(directory))
        {
            using var created = DevCertificate.Create(directory, timeProvider);
            DevCertificateCreated(logger, DevCertificate.CertificatePath(directory));
        }
        return new CertificateProvider(DevCertificate.CertificatePath(directory), DevCertificate.KeyPath(directory), logger, timeProvider);
    }

    /// <summary>Local delivery as the LMTP and SMTP listeners do it (recipient checks, quota, trace headers).</summary>
    public LocalDelivery LocalDelivery { get; }

    /// <summary>Timeouts and limits of LMTP/SMTP sessions; change them before <see cref="StartAsync"/>.</summary>
    public LmtpLimits LmtpLimits { get; } = new();

    /// <summary>The LMTP addresses actually bound: <see cref="IPEndPoint"/>s or Unix-domain socket endpoints.</summary>
    public IReadOnlyList<EndPoint> LmtpEndPoints => _lmtpListeners.Select(l => l.EndPoint).ToList();

    /// <summary>The SMTP addresses actually bound.</summary>
    public IReadOnlyList<EndPoint> SmtpEndPoints => _smtpListeners.Select(l => l.EndPoint).ToList();

    /// <summary>The one store: POP3 opens maildrops from it, LMTP/SMTP deliver into it, quota measures it.</summary>
    public IMailBackend Store { get; }

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
                listener.Start(RunPop3SessionAsync);
            }
            foreach (var address in _options.EffectivePop3s)
            {
                cancellationToken.ThrowIfCancellationRequested();
                var listener = ConnectionListener.Bind(ListenAddress.Parse(address), logger);
                _pop3sListeners.Add(listener);
                listener.Start(RunPop3sSessionAsync);
            }
            foreach (var address in _options.EffectiveLmtp)
                _lmtpListeners.Add(StartDeliveryListener(address, DeliveryDialect.Lmtp, logger));
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

    private Task RunPop3SessionAsync(Socket socket, CancellationToken stopping) => RunSessionAsync(socket, implicitTls: false, stopping);

    private Task RunPop3sSessionAsync(Socket socket, CancellationToken stopping) => RunSessionAsync(socket, implicitTls: true, stopping);

    private async Task RunSessionAsync(Socket socket, bool implicitTls, CancellationToken stopping)
    {
        var peer = socket.RemoteEndPoint;
        if (!_gate.TryEnter((peer as IPEndPoint)?.Address, out var lease))
        {
            // RFC 3206 [SYS/TEMP]: the client may come back later; established sessions are untouched.
            // A POP3S client expects a TLS handshake, to which a plaintext -ERR is noise: it is just closed.
            await RefuseAsync(socket, implicitTls ? [] : "-ERR [SYS/TEMP] Too many connections, try again later.\r\n"u8.ToArray()).ConfigureAwait(false);
            return;
        }
        using (lease)
        {
            var stream = new NetworkStream(socket, ownsSocket: false);
            await using (stream.ConfigureAwait(false))
            {
                var session = new Pop3Session(_context, stream, peer, implicitTls);
                await session.RunAsync(stopping).ConfigureAwait(false);
            }
        }
    }

    private ConnectionListener StartDeliveryListener(string address, DeliveryDialect dialect, ILogger logger)
    {
        var listener = ListenAddress.TryGetSocketPath(address, out var path)
            ? ConnectionListener.BindUnix(path, logger)
            : ConnectionListener.Bind(ListenAddress.Parse(address), logger);
        listener.Start((socket, stopping) =>
        {
            var stream = new NetworkStream(socket, ownsSocket: false);
            var session = new LmtpSession(_lmtpContext, dialect, stream, socket.RemoteEndPoint);
            return RunAndDisposeAsync(session.RunAsync, stream, stopping);
        });
        return listener;
    }

    private static async Task RunAndDisposeAsync(Func<CancellationToken, Task> run, Stream stream, CancellationToken stopping)
    {
        await using (stream.ConfigureAwait(false))
        {
            await run(stopping).ConfigureAwait(false);
        }
    }

    private static async Task RefuseAsync(Socket socket, byte[] line)
    {
        try
        {
            using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(5));
            await socket.SendAsync(line, SocketFlags.None, timeout.Token).ConfigureAwait(false);
            socket.Shutdown(SocketShutdown.Both);
        }
        catch (Exception ex) when (ex is SocketException or OperationCanceledException or ObjectDisposedException)
        {
            // The refused client is already gone; nothing is owed to it.
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
        if (_ownedStore && Store is IAsyncDisposable disposable) await disposable.DisposeAsync().ConfigureAwait(false);
    }

    [LoggerMessage(23, LogLevel.Warning, "Created a self-signed development certificate for localhost in {Path}; clients must be told to trust it. Set TlsCertificate and TlsKey for production", EventName = "DevCertificateCreated")]
    private static partial void DevCertificateCreated(ILogger logger, string path);
}
