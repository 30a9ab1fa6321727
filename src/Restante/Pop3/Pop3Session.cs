using System.Buffers;
using System.IO.Pipelines;
using System.Net;
using System.Net.Sockets;
using System.Security.Authentication;
using System.Security.Cryptography.X509Certificates;
using Microsoft.Extensions.Logging;
using Restante.Auth.Sasl;
using Restante.Networking;
using Restante.Pop3.Language;
using Restante.Pop3.Quirks;
using Restante.Pop3.Takeover;
using Restante.Protocol;

namespace Restante.Pop3;

/// <summary>
/// One POP3 connection from greeting to close: the POP3 state machine on top of a <see cref="LineConnection"/>,
/// which batches lines, flushes once per batch (PIPELINING, RFC 2449 §6.6, for free), keeps the deadlines and
/// does the TLS upgrade. Deletions reach the store only through QUIT in TRANSACTION (<see cref="Pop3Update"/>);
/// every other end of the session (disconnect, timeout, shutdown, too many errors) leaves the mailbox as it was.
/// </summary>
public sealed class Pop3Session : ILineProtocol
{
    private static long s_nextSessionId;

    // No zero-byte reads in the pipe: the connection waits for input with its own zero-byte read on the socket or TLS
    // stream (LineConnection.WaitsBeforeReading), so an idle session holds no read buffer. The options are
    // immutable, so every session shares one of each.
    private static readonly StreamPipeReaderOptions s_readerOptions = new(bufferSize: 4096, minimumReadSize: 1024, leaveOpen: true);
    private static readonly StreamPipeWriterOptions s_writerOptions = new(minimumBufferSize: 16 * 1024, leaveOpen: true);

    private readonly Pop3ServerContext _server;
    private readonly LineConnection _connection;
    private readonly MaildropRelease _release = new();
    private long _lastCommandAt;
    // Set by an administrator's kick (LiveSession.Kick); ends the session like a shutdown, with its own goodbye.
    private volatile bool _kicked;
    private IDisposable? _scope;
    private IDisposable? _registration;

    /// <param name="implicitTls">A POP3S connection (RFC 8314): the TLS handshake comes before the greeting.</param>
    public Pop3Session(Pop3ServerContext server, Stream transport, EndPoint? remoteEndPoint, bool implicitTls = false)
    {
        if (implicitTls && server.Certificates is null) throw new ArgumentException("Implicit TLS needs a certificate.", nameof(implicitTls));
        _server = server;
        IsImplicitTls = implicitTls;
        RemoteEndPoint = remoteEndPoint;
        Id = Interlocked.Increment(ref s_nextSessionId);
        transport = server.Hooks is { } hooks ? hooks.OnTransport(this, transport) : transport;
        Timestamp = ApopTimestamp.ForGreeting(server);
        _connection = new LineConnection(transport, server.TimeProvider, s_readerOptions, s_writerOptions);
        Logger = server.Logger;
        ConnectedAt = _lastCommandAt = server.TimeProvider.GetTimestamp();
        Activity = new SessionActivity(server.TimeProvider);
        Quirks = server.QuirkTable.Resolve(RemoteAddress, user: null);
    }

    /// <summary>RFC 6856 §2.1: the client sent UTF8, so messages go out as stored, raw UTF-8 headers and all.</summary>
    internal bool Utf8Mode { get; set; }

    /// <summary>The language of response texts, chosen with LANG (RFC 6856 §3); English until then.</summary>
    internal ResponseLanguage Language { get; set; } = ResponseTexts.English;

    /// <summary>Writes +OK with a human-readable text, in the session's language.</summary>
    internal void WriteOk(string text) => Pop3Reply.Ok(Output, ResponseTexts.Translate(Language, text), utf8: !Language.IsDefault);

    /// <summary>Writes -ERR with a human-readable text, in the session's language; counts nothing.</summary>
    private void WriteErr(ResponseCode code, string text) => Pop3Reply.Err(Output, code, ResponseTexts.Translate(Language, text), utf8: !Language.IsDefault);

    /// <summary>What the client quirk profiles that apply to this session switch on (by address, then by user too).</summary>
    internal ClientQuirks Quirks { get; private set; }

    /// <summary>When the peer last sent something, and whether the session waits for it (see <see cref="MailboxTakeover"/>).</summary>
    internal SessionActivity Activity { get; }

    /// <summary>Completes once this session has let its maildrop go.</summary>
    internal Task MaildropReleased => _release.Completion;

    /// <summary>Ends this session as an autologout would, if it is stranded (see <see cref="SessionActivity.TryTakeOver"/>).</summary>
    internal bool TryEndStranded(TimeSpan idle)
    {
        if (!Activity.TryTakeOver(idle)) return false;
        _connection.CancelNow();
        return true;
    }

    public long Id { get; }

    public EndPoint? RemoteEndPoint { get; }

    /// <summary>The client's IP address; null for a Unix-domain socket.</summary>
    public IPAddress? RemoteAddress => (RemoteEndPoint as IPEndPoint)?.Address;

    public Pop3State State { get; private set; } = Pop3State.Authorization;

    /// <summary>The authenticated user once in TRANSACTION.</summary>
    public string? User { get; private set; }

    /// <summary>A POP3S connection: TLS from the first byte (RFC 8314), not after STLS.</summary>
    public bool IsImplicitTls { get; }

    /// <summary>True once TLS is established (POP3S from the start, or after STLS).</summary>
    public bool IsSecure { get; private set; }

    /// <summary>
    /// The server certificate this connection's TLS handshake used, null without TLS. SCRAM-*-PLUS
    /// hashes it for tls-server-end-point channel binding (RFC 5929 §4); it stays the same for the
    /// whole connection even when the certificate files are reloaded meanwhile.
    /// </summary>
    public X509Certificate2? TlsCertificate { get; private set; }

    /// <summary>
    /// Whether a password may be sent in the clear (see <see cref="PlaintextPolicy"/>). Commands that are refused
    /// reply with <see cref="RejectPlaintext"/>; CAPA leaves out what is refused.
    /// </summary>
    public bool PlaintextAllowed => PlaintextPolicy.Allows(IsSecure, _server.Options.AllowPlaintext, RemoteEndPoint);

    /// <summary>STLS is offered: TLS is configured, not yet active, and nobody has logged in (RFC 2595 §4).</summary>
    internal bool CanStartTls => _server.Certificates is not null && !IsSecure && State == Pop3State.Authorization;

    /// <summary>
    /// The APOP timestamp sent in the greeting, angle brackets included (RFC 1939 §7); null when this greeting offers
    /// no APOP (see <see cref="Pop3Options.Apop"/>).
    /// </summary>
    public string? Timestamp { get; }

    internal Pop3ServerContext Server => _server;

    internal ILogger Logger { get; }

    internal PipeWriter Output => _connection.Output;

    /// <summary>
    /// The socket of a plain connection whose bytes reach it unchanged (no TLS, no hook around the transport): what
    /// <see cref="Commands.ZeroCopyRetr"/> hands to sendfile(2). Null otherwise.
    /// </summary>
    internal Socket? PlainSocket => !IsSecure && _connection.Transport is NetworkStream network ? network.Socket : null;

    /// <summary>Arms the write timeout for output that bypasses <see cref="Output"/> (sendfile); disarm with <see cref="DisarmWriteTimeout"/>.</summary>
    internal CancellationToken ArmWriteTimeout() => _connection.ArmWriteDeadline();

    internal void DisarmWriteTimeout() => _connection.Disarm();

    /// <summary>Bounds the whole send of a message of <paramref name="octets"/> (see <see cref="CommandDescriptorGate.HoldLimit"/>); dispose once sent.</summary>
    internal LineConnection.SendBound BoundSend(long octets) => _connection.BoundSend(_server.CommandDescriptors.HoldLimit(octets, _server.Options.WriteTimeout));

    /// <summary>The name given by USER, waiting for PASS.</summary>
    internal string? PendingUser { get; set; }

    internal TransactionMaildrop? Transaction { get; private set; }

    internal int RetrievedCount { get; set; }

    internal long BytesSent { get; set; }

    /// <summary>When the current login attempt began: the failure answer is timed from it (see <see cref="Pop3Login.FailAsync"/>).</summary>
    internal long LoginAttemptStartedAt { get; private set; }

    internal long ConnectedAt { get; }

    /// <summary>How the user logged in (USER/PASS, APOP, a SASL mechanism); null before login.</summary>
    internal string? Mechanism { get; private set; }

    internal SslProtocols TlsProtocol { get; private set; }

    /// <summary>The command now running was answered with -ERR.</summary>
    internal bool CommandRejected => _connection.CommandRejected;

    public Task RunAsync(CancellationToken stopping) => _connection.RunAsync(this, stopping);

    /// <summary>Ends the session from outside, as a shutdown does: no UPDATE, so nothing is deleted.</summary>
    internal void Kick()
    {
        _kicked = true;
        _connection.CancelNow();
    }

    /// <summary>Writes a one-line -ERR and counts it toward <see cref="Pop3Options.MaxBadCommands"/>.</summary>
    internal CommandOutcome Reject(string text, ResponseCode code = ResponseCode.None)
    {
        WriteErr(code, text);
        _connection.CountBadCommand();
        return CommandOutcome.Continue;
    }

    /// <summary>
    /// Writes -ERR [SYS/TEMP] for a shortage of the server's (no descriptor slot, hashing workers busy): the client did
    /// nothing wrong, so it does not count toward <see cref="Pop3Options.MaxBadCommands"/>; a client pipelining commands
    /// into a busy server is told to retry, not disconnected as a bad one.
    /// </summary>
    internal CommandOutcome RejectBusy(string text)
    {
        WriteErr(ResponseCode.SysTemp, text);
        _connection.MarkRejected();
        return CommandOutcome.Continue;
    }

    /// <summary>The refusal of a clear-text password where <see cref="PlaintextAllowed"/> is false (Dovecot's text).</summary>
    internal CommandOutcome RejectPlaintext()
        => Reject("Plaintext authentication disallowed on non-secure connections.", ResponseCode.Auth);

    /// <summary>Starts the clock a failed login is answered by (see <see cref="Pop3Login.FailAsync"/>).</summary>
    internal void BeginLoginAttempt() => LoginAttemptStartedAt = _server.TimeProvider.GetTimestamp();

    internal ValueTask<CommandOutcome> FailLoginAsync(string user, string mechanism, CancellationToken cancellationToken)
        => Pop3Login.FailAsync(this, user, mechanism, cancellationToken);

    /// <summary>The only way into TRANSACTION (see <see cref="Pop3Login.EnterTransactionAsync"/>).</summary>
    /// <param name="record">The user's record when the login just looked it up (the policy then needs no second lookup).</param>
    internal ValueTask<CommandOutcome> EnterTransactionAsync(string user, string mechanism, CancellationToken cancellationToken,
        Auth.UserRecord? record = null)
        => Pop3Login.EnterTransactionAsync(this, user, mechanism, cancellationToken, record);

    /// <summary>The maildrop is open and locked: RFC 1939 §4, AUTHORIZATION → TRANSACTION.</summary>
    internal void Enter(TransactionMaildrop transaction, string user, string mechanism)
    {
        Transaction = transaction;
        User = user;
        State = Pop3State.Transaction;
        _server.Takeover.Holding(user, this);
        Quirks = _server.QuirkTable.Resolve(RemoteAddress, user);
        Mechanism = mechanism;
    }

    internal void EnterUpdate() => State = Pop3State.Update;

    internal void SetEndReason(string reason) => _connection.EndReason = reason;

    /// <summary>Flushes with the write timeout armed; false when the client is gone.</summary>
    internal ValueTask<bool> FlushAsync() => _connection.FlushAsync();

    /// <summary>
    /// Reads the client's next line in the middle of a command (a SASL response, RFC 5034 §4), with its own ceiling
    /// (see <see cref="LineConnection.ReadLineInCommandAsync"/>).
    /// </summary>
    internal async ValueTask<ContinuationLine> ReadContinuationLineAsync(int maxLength, CancellationToken cancellationToken)
    {
        var (status, line) = await _connection.ReadLineInCommandAsync(maxLength, cancellationToken).ConfigureAwait(false);
        if (status == LineStatus.TooLong) return ContinuationLine.TooLong;
        if (status != LineStatus.Complete) return ContinuationLine.Closed;
        // A SASL response: the attempt the failure time is measured from starts again here, not at the
        // AUTH line, since the client's round trips are not ours to hide.
        BeginLoginAttempt();
        return ContinuationLine.Of(line);
    }

    /// <summary>
    /// What SASL may know about this connection: TLS or not, the plaintext policy's decision, and the
    /// tls-server-end-point channel binding of the certificate this connection's handshake used (RFC 5929 §4).
    /// </summary>
    internal SaslContext CreateSaslContext() => new(
        IsSecure, PlaintextAllowed, TlsCertificate is { } certificate ? ChannelBindings.TlsServerEndPoint(certificate) : null, _server.Sasl);

    /// <summary>Releases the mailbox lock, once; removes nothing (only UPDATE does).</summary>
    internal ValueTask ReleaseMaildropAsync() => Transaction is { } transaction ? _release.ReleaseAsync(this, transaction) : ValueTask.CompletedTask;

    // ---- What the connection engine asks of POP3 ----

    void ILineProtocol.Begin()
    {
        Pop3Log.Connected(Logger, Id, RemoteEndPoint);
        _server.Metrics.SessionStarted();
        _scope = Logger.BeginScope("Session {SessionId} {Peer}", Id, RemoteEndPoint);
        _registration = _server.Sessions.Register(this);
    }

    void ILineProtocol.Finished()
    {
        // Left after the connection has released the mailbox, so a kick's caller can count on the lock being free.
        _registration?.Dispose();
        _scope?.Dispose();
    }

    int ILineProtocol.LineLimit => _server.Options.MaxAuthLine;

    int ILineProtocol.MaxBadCommands => _server.Options.MaxBadCommands;

    TimeSpan ILineProtocol.WriteTimeout => _server.Options.WriteTimeout;

    /// <summary>
    /// Before login the clock runs from the connection's start and nothing resets it, so a client
    /// trickling a byte at a time (slowloris) is gone after LoginTimeout all the same. After login
    /// only a complete command resets it (RFC 1939 §3: the autologout timer).
    /// </summary>
    TimeSpan ILineProtocol.NextReadTimeout() => TimeUntilAutologout();

    private TimeSpan TimeUntilAutologout()
    {
        var (since, limit) = State == Pop3State.Transaction
            ? (_lastCommandAt, _server.Options.IdleTimeout)
            : (ConnectedAt, _server.Options.LoginTimeout);
        var left = limit - _server.TimeProvider.GetElapsedTime(since);
        return left > TimeSpan.Zero ? left : TimeSpan.FromTicks(1);
    }

    bool ILineProtocol.BeginWaiting() => Activity.BeginWaiting();

    bool ILineProtocol.EndWaiting() => Activity.EndWaiting(receivedBytes: true);

    async ValueTask<bool> ILineProtocol.OpenAsync()
    {
        if (IsImplicitTls && !await StartTlsAsync().ConfigureAwait(false)) return false;
        Pop3Reply.Ok(Output, Timestamp is null ? "Restante POP3 server ready." : $"Restante POP3 server ready. {Timestamp}");
        return true;
    }

    async ValueTask<LineOutcome> ILineProtocol.ExecuteLineAsync(ReadOnlySequence<byte> line, CancellationToken cancellationToken)
    {
        // Lines are short (the ceiling is MaxAuthLine); copy once so commands may await safely.
        var outcome = await CommandDispatch.RunAsync(this, line.ToArray(), cancellationToken).ConfigureAwait(false);
        _lastCommandAt = _server.TimeProvider.GetTimestamp();
        return outcome switch
        {
            CommandOutcome.Close => LineOutcome.Close,
            CommandOutcome.StartTls => LineOutcome.StartTls,
            _ => LineOutcome.Continue,
        };
    }

    void ILineProtocol.WriteLineTooLong() => WriteErr(ResponseCode.None, "Line too long.");

    void ILineProtocol.WriteTooManyBadCommands()
        => WriteErr(ResponseCode.None, "Too many bad commands, closing connection.");

    ValueTask<bool> ILineProtocol.StartTlsAsync(long discardedPlaintext)
    {
        if (discardedPlaintext > 0) Pop3Log.DiscardedAfterStls(Logger, discardedPlaintext);
        return StartTlsAsync();
    }

    /// <summary>STLS or POP3S: the handshake runs within what is left of <see cref="Pop3Options.LoginTimeout"/> (an abandoned handshake is a client that does not log in).</summary>
    private ValueTask<bool> StartTlsAsync() => Pop3Tls.StartAsync(this, _connection, TimeUntilAutologout());

    /// <summary>TLS is up: what the session remembers of it.</summary>
    internal void Secured(SslProtocols protocol, X509Certificate2 certificate)
    {
        IsSecure = true;
        TlsProtocol = protocol;
        TlsCertificate = certificate;
    }

    byte[]? ILineProtocol.Interrupted(bool serverStopping)
    {
        var handshaking = _connection.IsHandshaking;
        if (_kicked) return End("kicked by the administrator", handshaking ? default : "-ERR Disconnected by the administrator.\r\n"u8);
        if (serverStopping) return End("server shutting down", handshaking ? default : "-ERR Server shutting down.\r\n"u8);
        if (Activity.TakenOver) return End("taken over by a new login", "-ERR [IN-USE] Another login took over this mailbox; nothing was deleted.\r\n"u8);
        // Mid-message: a goodbye line would be read as part of the message, so the connection just closes.
        if (_connection.SendBoundExpired) return End("too slow reading a message", default);
        // The I/O deadline fired: the client went silent or stopped reading.
        return handshaking ? End("TLS handshake timed out", default) : End("timed out", "-ERR Disconnected for inactivity.\r\n"u8);
    }

    private byte[]? End(string reason, ReadOnlySpan<byte> goodbye)
    {
        _connection.EndReason = reason;
        return goodbye.IsEmpty ? null : goodbye.ToArray();
    }

    void ILineProtocol.Failed(Exception exception) => Pop3Log.SessionFailed(Logger, exception, Id);

    ValueTask ILineProtocol.EndAsync() => SessionSummary.EndAsync(this, _connection.EndReason);
}
