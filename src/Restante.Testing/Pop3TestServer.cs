using System.Net;
using System.Net.Security;
using System.Security.Cryptography.X509Certificates;
using System.Text;
using Microsoft.Extensions.Logging.Abstractions;
using Restante.Hosting;
using Restante.Storage;
using Restante.Storage.InMemory;

namespace Restante.Testing;

/// <summary>
/// A real Restante POP3 (and SMTP) server on loopback ports the system chose, for one test or one test class:
/// <code>
/// await using var mail = await Pop3TestServer.StartAsync(o => o.AddUser("alice", "pw"));
/// await mail.DeliverAsync("alice", "Subject: hi\r\n\r\nhello\r\n");
/// // point the code under test at mail.Pop3EndPoint, then:
/// Assert.Empty(mail.Messages("alice"));
/// </code>
/// The server is the production one (RFC 1939 snapshot at login, deletions only at QUIT, exclusive
/// mailbox lock, byte-stuffing), with an in-memory store unless a temporary Maildir is asked for.
/// Each instance owns everything it uses: any number can run at once in one process.
/// </summary>
public sealed class Pop3TestServer : IAsyncDisposable
{
    private readonly string _directory;
    private readonly TestUserDirectory _users;
    private readonly KitSessionHooks _hooks;
    private static readonly TimeSpan MailboxWait = TimeSpan.FromSeconds(5);
    private int _disposed;

    private Pop3TestServer(string directory, Pop3Server server, TestUserDirectory users, KitSessionHooks hooks, Pop3Faults faults)
    {
        _directory = directory;
        Server = server;
        _users = users;
        _hooks = hooks;
        Faults = faults;
    }

    /// <summary>Starts a server; <paramref name="configure"/> adds users and picks the store.</summary>
    public static async Task<Pop3TestServer> StartAsync(Action<Pop3TestServerOptions>? configure = null, CancellationToken cancellationToken = default)
    {
        var options = new Pop3TestServerOptions();
        configure?.Invoke(options);
        var directory = Path.Combine(Path.GetTempPath(), "restante-testing-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(directory);
        try
        {
            var serverOptions = new RestanteOptions
            {
                DataDirectory = directory,
                Pop3 = ["127.0.0.1:0"],
                Pop3s = options.Tls ? ["127.0.0.1:0"] : [],
                Smtp = options.Smtp ? ["127.0.0.1:0"] : [],
                Tls = options.Tls,
                Store = options.Maildir ? "maildir" : "memory",
                // A test's mail need not survive a power cut; fsync would only make every delivery slower.
                Fsync = false,
                LocalDomains = [.. options.LocalDomains],
            };
            var users = new TestUserDirectory();
            var faults = new Pop3Faults();
            var hooks = new KitSessionHooks(faults);
            var server = new Pop3Server(serverOptions, options.Pop3, options.LoggerFactory ?? NullLoggerFactory.Instance,
                users: users, sessionHooks: hooks);
            var kit = new Pop3TestServer(directory, server, users, hooks, faults);
            try
            {
                foreach (var (user, password, messages) in options.Users)
                {
                    users.Set(user, password);
                    foreach (var message in messages)
                    {
                        var bytes = message as byte[] ?? Encoding.UTF8.GetBytes((string)message);
                        await kit.DeliverAsync(user, bytes, cancellationToken).ConfigureAwait(false);
                    }
                }
                await server.StartAsync(cancellationToken).ConfigureAwait(false);
            }
            catch
            {
                await kit.DisposeAsync().ConfigureAwait(false);
                throw;
            }
            return kit;
        }
        catch
        {
            TryDeleteDirectory(directory);
            throw;
        }
    }

    /// <summary>The Restante server underneath, for what the kit does not wrap (its store, limits and listeners).</summary>
    public Pop3Server Server { get; }

    /// <summary>Faults to inject into this server's sessions.</summary>
    public Pop3Faults Faults { get; }

    /// <summary>The plain POP3 listener (STLS offered when TLS is on).</summary>
    public IPEndPoint Pop3EndPoint => Server.Pop3EndPoints[0];

    /// <summary>The POP3S (implicit TLS, RFC 8314) listener; trust <see cref="Certificate"/> to connect.</summary>
    /// <exception cref="InvalidOperationException">TLS was turned off in the options.</exception>
    public IPEndPoint Pop3sEndPoint => Server.Pop3sEndPoints.Count > 0 ? Server.Pop3sEndPoints[0] : throw new InvalidOperationException("TLS is off for this server.");

    /// <summary>The SMTP listener that delivers to this server's users.</summary>
    /// <exception cref="InvalidOperationException">SMTP was turned off in the options.</exception>
    public IPEndPoint SmtpEndPoint => Server.SmtpEndPoints.Count > 0 ? (IPEndPoint)Server.SmtpEndPoints[0] : throw new InvalidOperationException("SMTP is off for this server.");

    /// <summary>The self-signed certificate (CN=localhost, for 127.0.0.1 and ::1) generated for this server's STLS and POP3S.</summary>
    /// <exception cref="InvalidOperationException">TLS was turned off in the options.</exception>
    public X509Certificate2 Certificate => Server.Certificates?.Current.Certificate ?? throw new InvalidOperationException("TLS is off for this server.");

    /// <summary>A validation callback that accepts exactly <see cref="Certificate"/> (for MailKit's <c>ServerCertificateValidationCallback</c> or an SslStream).</summary>
    public RemoteCertificateValidationCallback TrustCertificate
    {
        get
        {
            var thumbprint = Certificate.Thumbprint;
            return (_, certificate, _, _) => certificate is not null && certificate.GetCertHashString() == thumbprint;
        }
    }

    /// <summary>The directory of this server's data (its Maildirs with <see cref="Pop3TestServerOptions.UseMaildir"/>); deleted on dispose.</summary>
    public string DataDirectory => _directory;

    /// <summary>Every POP3 session so far, oldest first, recorded in both directions with secrets redacted.</summary>
    public IReadOnlyList<SessionTranscript> Transcripts => _hooks.Transcripts;

    /// <summary>Every transcript as one block of text, to attach to an assertion failure's message.</summary>
    public string FormatTranscripts()
    {
        var transcripts = Transcripts;
        return transcripts.Count == 0 ? "(no POP3 sessions)\n" : string.Concat(transcripts.Select(t => t.ToString()));
    }

    /// <summary>Opens a raw connection to <see cref="Pop3EndPoint"/> (the greeting not yet read).</summary>
    public Task<TranscriptClient> ConnectAsync(CancellationToken cancellationToken = default) => TranscriptClient.ConnectAsync(Pop3EndPoint, cancellationToken);

    /// <summary>Connects, reads the greeting and logs in with USER/PASS; throws unless every reply is +OK.</summary>
    public async Task<TranscriptClient> LoginAsync(string user, string password, CancellationToken cancellationToken = default)
    {
        var client = await ConnectAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            await client.ExpectAsync("+OK", cancellationToken).ConfigureAwait(false);
            await client.SendAsync("USER " + user, cancellationToken).ConfigureAwait(false);
            await client.ExpectAsync("+OK", cancellationToken).ConfigureAwait(false);
            await client.SendAsync("PASS " + password, cancellationToken).ConfigureAwait(false);
            await client.ExpectAsync("+OK", cancellationToken).ConfigureAwait(false);
        }
        catch
        {
            await client.DisposeAsync().ConfigureAwait(false);
            throw;
        }
        return client;
    }

    /// <summary>Adds a user, or changes the password of one, while the server runs.</summary>
    public void AddUser(string user, string password)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(user);
        ArgumentNullException.ThrowIfNull(password);
        _users.Set(user, password);
    }

    /// <summary>Puts a message into the user's mailbox exactly as given (no trace headers); returns its UIDL. Sessions already logged in do not see it (RFC 1939 snapshot).</summary>
    public async Task<string> DeliverAsync(string user, Stream message, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(user);
        ArgumentNullException.ThrowIfNull(message);
        return await Server.Store.DeliverAsync(user, message, cancellationToken).ConfigureAwait(false);
    }

    /// <inheritdoc cref="DeliverAsync(string, Stream, CancellationToken)"/>
    public async Task<string> DeliverAsync(string user, byte[] message, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(message);
        using var stream = new MemoryStream(message, writable: false);
        return await DeliverAsync(user, stream, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Puts a message, encoded as UTF-8, into the user's mailbox; returns its UIDL.</summary>
    public Task<string> DeliverAsync(string user, string message, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(message);
        return DeliverAsync(user, Encoding.UTF8.GetBytes(message), cancellationToken);
    }

    /// <summary>
    /// The messages in the user's mailbox now, oldest first, as stored: what is left after the client's QUIT.
    /// </summary>
    /// <remarks>A Maildir store is read through its lock: this waits up to 5 seconds for a session to let go of the mailbox.</remarks>
    /// <exception cref="InvalidOperationException">A session held the mailbox all that time.</exception>
    public async Task<IReadOnlyList<byte[]>> GetMessagesAsync(string user, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(user);
        if (Server.Store is InMemoryMailStore memory) return memory.MessagesOf(user);
        IMaildrop drop;
        // The client has its QUIT reply a moment before the server's session lets go of the mailbox.
        var deadline = DateTime.UtcNow + MailboxWait;
        while (true)
        {
            try
            {
                drop = await Server.Store.OpenAsync(user, cancellationToken).ConfigureAwait(false);
                break;
            }
            catch (MailStoreException ex) when (ex.Kind == MailStoreErrorKind.InUse)
            {
                if (DateTime.UtcNow > deadline)
                    throw new InvalidOperationException($"The mailbox of {user} is held by a POP3 session; read it after the client's QUIT.", ex);
            }
            await Task.Delay(10, cancellationToken).ConfigureAwait(false);
        }
        await using (drop.ConfigureAwait(false))
        {
            var messages = new List<byte[]>(drop.Messages.Count);
            for (var i = 0; i < drop.Messages.Count; i++)
            {
                var stream = await drop.OpenMessageAsync(i, cancellationToken).ConfigureAwait(false);
                await using (stream.ConfigureAwait(false))
                {
                    using var copy = new MemoryStream();
                    await stream.CopyToAsync(copy, cancellationToken).ConfigureAwait(false);
                    messages.Add(copy.ToArray());
                }
            }
            return messages;
        }
    }

    /// <summary>The synchronous <see cref="GetMessagesAsync"/>, for assertions; with the in-memory store it never blocks.</summary>
    public IReadOnlyList<byte[]> Messages(string user) => GetMessagesAsync(user).GetAwaiter().GetResult();

    /// <summary>Stops the listeners, ends every session without entering UPDATE, and deletes the data directory.</summary>
    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0) return;
        await Server.DisposeAsync().ConfigureAwait(false);
        TryDeleteDirectory(_directory);
    }

    private static void TryDeleteDirectory(string directory)
    {
        try
        {
            Directory.Delete(directory, recursive: true);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            // A temporary directory left behind is harmless; failing a test's cleanup over it is not.
        }
    }
}
