using System.Net;
using System.Net.Sockets;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Restante.Auth;
using Restante.Networking;
using Restante.Pop3;
using Restante.Storage;
using Restante.Storage.Maildir;

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

    public Pop3Server(RestanteOptions options, Pop3Options pop3Options, ILoggerFactory? loggerFactory = null,
        IMailStore? store = null, IUserDirectory? users = null, TimeProvider? timeProvider = null)
    {
        var problems = options.Validate().Concat(pop3Options.Validate()).ToList();
        if (problems.Count > 0) throw new InvalidOperationException("Invalid configuration: " + string.Join(" ", problems));

        _options = options;
        _loggerFactory = loggerFactory ?? NullLoggerFactory.Instance;
        Directory.CreateDirectory(options.DataDirectory);
        var maildirs = new MaildirStore(options.EffectiveMaildir, _loggerFactory.CreateLogger<MaildirStore>(), options.Fsync);
        Store = store ?? maildirs;
        Delivery = store as IMessageDelivery ?? maildirs;
        Users = users ?? new PasswdFile(options.EffectivePasswdFile, _loggerFactory.CreateLogger<PasswdFile>());
        Certificates = options.Tls ? LoadCertificates(options, _loggerFactory.CreateLogger("Restante.Tls"), timeProvider) : null;
        _context = new Pop3ServerContext(pop3Options, Store, new Authenticator(Users), _loggerFactory, timeProvider) { Certificates = Certificates };
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

    public IMailStore Store { get; }

    public IMessageDelivery Delivery { get; }

    public IUserDirectory Users { get; }

    /// <summary>The TLS certificate for STLS and POP3S; null when <see cref="RestanteOptions.Tls"/> is off.</summary>
    public CertificateProvider? Certificates { get; }

    /// <summary>The POP3 addresses actually bound (with port 0 requested, the chosen port).</summary>
    public IReadOnlyList<IPEndPoint> Pop3EndPoints => _listeners.Select(l => l.LocalEndPoint).ToList();

    /// <summary>The POP3S (implicit TLS) addresses actually bound.</summary>
    public IReadOnlyList<IPEndPoint> Pop3sEndPoints => _pop3sListeners.Select(l => l.LocalEndPoint).ToList();

    public int ActiveSessions => AllListeners.Sum(l => l.ActiveConnections);

    private IEnumerable<ConnectionListener> AllListeners => _listeners.Concat(_pop3sListeners);

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
        }
        catch
        {
            foreach (var listener in AllListeners) _ = listener.DisposeAsync();
            _listeners.Clear();
            _pop3sListeners.Clear();
            throw;
        }
        return Task.CompletedTask;
    }

    private Task RunPop3SessionAsync(Socket socket, CancellationToken stopping)
    {
        var stream = new NetworkStream(socket, ownsSocket: false);
        var session = new Pop3Session(_context, stream, socket.RemoteEndPoint);
        return RunAndDisposeAsync(session, stream, stopping);
    }

    private Task RunPop3sSessionAsync(Socket socket, CancellationToken stopping)
    {
        var stream = new NetworkStream(socket, ownsSocket: false);
        var session = new Pop3Session(_context, stream, socket.RemoteEndPoint, implicitTls: true);
        return RunAndDisposeAsync(session, stream, stopping);
    }

    private static async Task RunAndDisposeAsync(Pop3Session session, Stream stream, CancellationToken stopping)
    {
        await using (stream.ConfigureAwait(false))
        {
            await session.RunAsync(stopping).ConfigureAwait(false);
        }
    }

    /// <summary>Stops listening and ends every session without entering UPDATE: nothing is deleted.</summary>
    public async Task StopAsync()
    {
        await Task.WhenAll(AllListeners.Select(l => l.StopAsync())).ConfigureAwait(false);
    }

    public async ValueTask DisposeAsync()
    {
        foreach (var listener in AllListeners) await listener.DisposeAsync().ConfigureAwait(false);
        _listeners.Clear();
        _pop3sListeners.Clear();
    }

    [LoggerMessage(23, LogLevel.Warning, "Created a self-signed development certificate for localhost in {Path}; clients must be told to trust it. Set TlsCertificate and TlsKey for production", EventName = "DevCertificateCreated")]
    private static partial void DevCertificateCreated(ILogger logger, string path);
}
