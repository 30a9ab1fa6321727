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
using Restante.Storage.Maildir;

namespace Restante.Hosting;

/// <summary>
/// A running Restante: the store, the user directory and the listeners, wired together. The
/// command-line host and tests both start one of these.
/// </summary>
public sealed class Pop3Server : IAsyncDisposable
{
    private readonly List<ConnectionListener> _listeners = [];
    private readonly ILoggerFactory _loggerFactory;
    private readonly Pop3ServerContext _context;
    private readonly RestanteOptions _options;
    private readonly List<ConnectionListener> _lmtpListeners = [];
    private readonly List<ConnectionListener> _smtpListeners = [];
    private readonly LmtpServerContext _lmtpContext;

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
        _context = new Pop3ServerContext(pop3Options, Store, new Authenticator(Users), _loggerFactory, timeProvider);
        LocalDelivery = new LocalDelivery(Users, Delivery, Delivery as IMailboxUsage, new LocalDeliveryOptions
        {
            LocalDomains = options.LocalDomains.Where(d => !string.IsNullOrWhiteSpace(d)).ToList(),
            DefaultQuota = options.EffectiveDefaultQuota,
            MaxMessageSize = options.EffectiveMaxMessageSize,
            SpoolDirectory = options.EffectiveSpoolDirectory,
            Hostname = _context.Hostname,
        }, _loggerFactory.CreateLogger("Restante.Delivery"), timeProvider);
        _lmtpContext = new LmtpServerContext(LocalDelivery, LmtpLimits, _loggerFactory, timeProvider);
    }

    /// <summary>Local delivery as the LMTP and SMTP listeners do it (recipient checks, quota, trace headers).</summary>
    public LocalDelivery LocalDelivery { get; }

    /// <summary>Timeouts and limits of LMTP/SMTP sessions; change them before <see cref="StartAsync"/>.</summary>
    public LmtpLimits LmtpLimits { get; } = new();

    /// <summary>The LMTP addresses actually bound: <see cref="IPEndPoint"/>s or Unix-domain socket endpoints.</summary>
    public IReadOnlyList<EndPoint> LmtpEndPoints => _lmtpListeners.Select(l => l.EndPoint).ToList();

    /// <summary>The SMTP addresses actually bound.</summary>
    public IReadOnlyList<EndPoint> SmtpEndPoints => _smtpListeners.Select(l => l.EndPoint).ToList();

    public IMailStore Store { get; }

    public IMessageDelivery Delivery { get; }

    public IUserDirectory Users { get; }

    /// <summary>The POP3 addresses actually bound (with port 0 requested, the chosen port).</summary>
    public IReadOnlyList<IPEndPoint> Pop3EndPoints => _listeners.Select(l => l.LocalEndPoint).ToList();

    public int ActiveSessions => _listeners.Sum(l => l.ActiveConnections);

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
            foreach (var address in _options.EffectiveLmtp)
                _lmtpListeners.Add(StartDeliveryListener(address, DeliveryDialect.Lmtp, logger));
            foreach (var address in _options.EffectiveSmtp)
                _smtpListeners.Add(StartDeliveryListener(address, DeliveryDialect.Smtp, logger));
        }
        catch
        {
            foreach (var listener in _listeners.Concat(_lmtpListeners).Concat(_smtpListeners)) _ = listener.DisposeAsync();
            _listeners.Clear();
            _lmtpListeners.Clear();
            _smtpListeners.Clear();
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
        await Task.WhenAll(_listeners.Concat(_lmtpListeners).Concat(_smtpListeners).Select(l => l.StopAsync())).ConfigureAwait(false);
    }

    public async ValueTask DisposeAsync()
    {
        foreach (var listener in _listeners.Concat(_lmtpListeners).Concat(_smtpListeners)) await listener.DisposeAsync().ConfigureAwait(false);
        _listeners.Clear();
        _lmtpListeners.Clear();
        _smtpListeners.Clear();
    }
}
