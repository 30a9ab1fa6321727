using System.Net;
using System.Text;
using Microsoft.Extensions.Logging;
using Restante.Auth;
using Restante.Hosting;
using Restante.Networking;
using Restante.Pop3;

namespace Restante.Tests.Infrastructure;

/// <summary>A real Restante on a loopback port the system chose, over a temporary data directory.</summary>
internal sealed class TestServer : IAsyncDisposable
{
    private static long s_fileCounter;

    private readonly bool _ownsData;

    private TestServer(TempDirectory data, Pop3Server server, CapturingLoggerProvider logs, bool ownsData)
    {
        _ownsData = ownsData;
        Data = data;
        Server = server;
        Logs = logs;
    }

    public TempDirectory Data { get; }

    public Pop3Server Server { get; }

    public CapturingLoggerProvider Logs { get; }

    public IPEndPoint EndPoint => Server.Pop3EndPoints[0];

    public int Port => EndPoint.Port;

    public IPEndPoint LmtpEndPoint => (IPEndPoint)Server.LmtpEndPoints[0];

    public IPEndPoint SmtpEndPoint => (IPEndPoint)Server.SmtpEndPoints[0];

    public string PasswdPath => Path.Combine(Data.Path, "passwd");

    /// <param name="configureServer">Listeners, TLS files and the like; the defaults are one POP3 listener on loopback.</param>
    public static async Task<TestServer> StartAsync(Action<Pop3Options>? configure = null, TimeProvider? timeProvider = null, TempDirectory? data = null,
        ConnectionLimitOptions? limits = null, LoginThrottleOptions? throttle = null, Action<RestanteOptions>? configureServer = null,
        ListenerConnectionLimits? lmtpConnections = null, Restante.Storage.IMailBackend? store = null)
    {
        var ownsData = data is null;
        data ??= new TempDirectory();
        var pop3 = new Pop3Options { AuthFailureDelay = TimeSpan.FromMilliseconds(50), Hostname = "test.example" };
        configure?.Invoke(pop3);
        var options = new RestanteOptions { DataDirectory = data.Path, Pop3 = ["127.0.0.1:0"], Lmtp = ["127.0.0.1:0"], Smtp = ["127.0.0.1:0"], Fsync = false };
        configureServer?.Invoke(options);
        var logs = new CapturingLoggerProvider();
        var loggerFactory = LoggerFactory.Create(b => b.SetMinimumLevel(LogLevel.Debug).AddProvider(logs));
        var server = new Pop3Server(options, pop3, loggerFactory, store: store, timeProvider: timeProvider, limits: limits, throttleOptions: throttle,
            lmtpConnections: lmtpConnections);
        await server.StartAsync();
        return new TestServer(data, server, logs, ownsData);
    }

    public void AddUser(string name, string password)
        => File.AppendAllText(PasswdPath, $"{name}:{{PLAIN}}{password}::::::\n");

    public string MaildirOf(string user) => Path.Combine(Data.Path, "mail", user);

    /// <summary>Delivers like Postfix's local(8): write into tmp/, then rename into new/. Returns the file path.</summary>
    public string Deliver(string user, string content, long? seconds = null)
        => Deliver(user, Encoding.Latin1.GetBytes(content), seconds);

    public string Deliver(string user, byte[] content, long? seconds = null)
    {
        var root = MaildirOf(user);
        foreach (var sub in new[] { "tmp", "new", "cur" }) Directory.CreateDirectory(Path.Combine(root, sub));
        var time = seconds ?? DateTimeOffset.UtcNow.ToUnixTimeSeconds();
        var name = $"{time}.P{Environment.ProcessId}Q{Interlocked.Increment(ref s_fileCounter)}.testhost";
        var tmp = Path.Combine(root, "tmp", name);
        File.WriteAllBytes(tmp, content);
        var final = Path.Combine(root, "new", name);
        File.Move(tmp, final);
        return final;
    }

    /// <summary>Every message file currently in the user's Maildir (new/ and cur/).</summary>
    public IReadOnlyList<string> MessageFiles(string user)
    {
        var root = MaildirOf(user);
        return new[] { "new", "cur" }
            .Select(d => Path.Combine(root, d))
            .Where(Directory.Exists)
            .SelectMany(Directory.GetFiles)
            .ToList();
    }

    public Task<Transcript> ConnectAsync() => Transcript.ConnectAsync(EndPoint);

    /// <summary>The certificate the server presents (the development one in DATA/tls/ unless configured otherwise).</summary>
    public string CertificatePath => Server.Certificates!.CertificatePath;

    /// <summary>A client-side validation callback that trusts exactly the server's current certificate.</summary>
    public System.Net.Security.RemoteCertificateValidationCallback TrustServerCertificate
    {
        get
        {
            var thumbprint = Server.Certificates!.Current.Certificate.Thumbprint;
            return (_, certificate, _, _) => certificate is not null && certificate.GetCertHashString() == thumbprint;
        }
    }

    public Task<Transcript> ConnectLmtpAsync() => Transcript.ConnectAsync(LmtpEndPoint);

    public Task<Transcript> ConnectSmtpAsync() => Transcript.ConnectAsync(SmtpEndPoint);

    /// <summary>Connects, reads the greeting and logs in with USER/PASS.</summary>
    public async Task<Transcript> LoginAsync(string user, string password)
    {
        var client = await ConnectAsync();
        await client.ExpectAsync("+OK");
        await client.SendAsync($"USER {user}");
        await client.ExpectAsync("+OK");
        await client.SendAsync($"PASS {password}");
        await client.ExpectAsync("+OK");
        return client;
    }

    public async ValueTask DisposeAsync()
    {
        await Server.DisposeAsync();
        // A directory the caller gave outlives the server: a restart starts a new server over it.
        if (_ownsData) Data.Dispose();
    }
}
