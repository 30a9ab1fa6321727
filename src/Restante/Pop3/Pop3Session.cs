using System.Buffers;
using System.IO.Pipelines;
using System.Net;
using System.Net.Security;
using System.Net.Sockets;
using System.Security.Authentication;
using System.Security.Cryptography.X509Certificates;
using Microsoft.Extensions.Logging;
using Restante.Auth.Sasl;
using Restante.Diagnostics;
using Restante.Networking;
using Restante.Pop3.Language;
using Restante.Pop3.Quirks;
using Restante.Pop3.Takeover;
using Restante.Protocol;
using Restante.Storage;

namespace Restante.Pop3;

/// <summary>
/// One POP3 connection from greeting to close. Reads every complete line in a batch, runs the
/// commands in order, and flushes the replies once per batch, which makes PIPELINING (RFC 2449 §6.6)
/// free. Deletions reach the store only through QUIT in TRANSACTION; every other end of the session
/// (disconnect, timeout, shutdown, too many errors) leaves the mailbox as it was.
/// </summary>
public sealed class Pop3Session
{
    private static long s_nextSessionId;

    // Zero-byte reads: an idle session waits for data without holding a read buffer, which is most of what
    // thousands of idle sessions would otherwise cost. Over TLS too: SslStream passes a zero-byte read down to
    // the socket when it holds nothing decrypted, and lets its own buffers go while it waits.
    // The options are immutable, so every session shares one of each.
    private static readonly StreamPipeReaderOptions s_readerOptions = new(bufferSize: 4096, minimumReadSize: 1024, leaveOpen: true, useZeroByteReads: true);
    private static readonly StreamPipeWriterOptions s_writerOptions = new(minimumBufferSize: 16 * 1024, leaveOpen: true);

    private readonly Pop3ServerContext _server;
    private readonly bool _implicitTls;
    private Stream _transport;
    private SslStream? _tls;
    private bool _handshaking;
    private readonly IoDeadline _ioTimeout;
    private PipeReader _input;
    private PipeWriter _output;
    private int _consecutiveErrors;
    private bool _rejectedThisCommand;
    private bool _maildropReleased;
    // Set once the release has finished (the lock is gone), for a MaildropReleased asked for after it.
    private bool _maildropLetGo;
    private bool _discardingLongLine;

    // The input not yet consumed, shared by the batch loop and ReadContinuationLineAsync (see there).
    // _holdingRead: _unread belongs to a ReadResult that has not been handed back with AdvanceTo yet.
    private ReadOnlySequence<byte> _unread;
    private bool _holdingRead;
    private bool _inputCompleted;
    private string _endReason = "client disconnected";
    private readonly long _connectedAt;
    private long _lastCommandAt;
    private long _attemptStartedAt;
    // Made only when a takeover waits for it (MaildropReleased): most sessions never need one.
    private TaskCompletionSource? _maildropReleasedSignal;
    // Set by an administrator's kick (LiveSession.Kick); ends the session like a shutdown, with its own goodbye.
    private volatile bool _kicked;
    private string? _mechanism;
    private SslProtocols _tlsProtocol;

    /// <param name="implicitTls">A POP3S connection (RFC 8314): the TLS handshake comes before the greeting.</param>
    public Pop3Session(Pop3ServerContext server, Stream transport, EndPoint? remoteEndPoint, bool implicitTls = false)
    {
        if (implicitTls && server.Certificates is null) throw new ArgumentException("Implicit TLS needs a certificate.", nameof(implicitTls));
        _server = server;
        _implicitTls = implicitTls;
        RemoteEndPoint = remoteEndPoint;
        Id = Interlocked.Increment(ref s_nextSessionId);
        _transport = server.Hooks is { } hooks ? hooks.OnTransport(this, transport) : transport;
        transport = _transport;
        Timestamp = OffersApop(server) ? ApopTimestamp.Create(server.Hostname) : null;
        _input = PipeReader.Create(transport, s_readerOptions);
        _output = PipeWriter.Create(transport, s_writerOptions);
        _ioTimeout = new IoDeadline(server.TimeProvider);
        Logger = server.Logger;
        _connectedAt = _lastCommandAt = server.TimeProvider.GetTimestamp();
        Activity = new SessionActivity(server.TimeProvider);
        Quirks = ClientQuirks.Resolve(server.Options.Quirks, RemoteAddress, user: null);
    }

    /// <summary>RFC 6856 §2.1: the client sent UTF8, so messages go out as stored, raw UTF-8 headers and all.</summary>
    internal bool Utf8Mode { get; set; }

    /// <summary>The language of response texts, chosen with LANG (RFC 6856 §3); English until then.</summary>
    internal ResponseLanguage Language { get; set; } = ResponseTexts.English;

    /// <summary>Writes +OK with a human-readable text, in the session's language.</summary>
    internal void WriteOk(string text) => Pop3Reply.Ok(_output, ResponseTexts.Translate(Language, text), utf8: !Language.IsDefault);

    /// <summary>What the client quirk profiles that apply to this session switch on (by address, then by user too).</summary>
    internal ClientQuirks Quirks { get; private set; }

    /// <summary>When the peer last sent something, and whether the session waits for it (see <see cref="MailboxTakeover"/>).</summary>
    internal SessionActivity Activity { get; }

    /// <summary>Completes once this session has let its maildrop go.</summary>
    internal Task MaildropReleased
    {
        get
        {
            var signal = Volatile.Read(ref _maildropReleasedSignal)
                ?? Interlocked.CompareExchange(ref _maildropReleasedSignal, new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously), null)
                ?? _maildropReleasedSignal;
            // Released before anyone asked: ReleaseMaildropAsync found no signal to complete.
            if (Volatile.Read(ref _maildropLetGo)) signal.TrySetResult();
            return signal.Task;
        }
    }

    /// <summary>Ends this session as an autologout would, if it is stranded (see <see cref="SessionActivity.TryTakeOver"/>).</summary>
    internal bool TryEndStranded(TimeSpan idle)
    {
        if (!Activity.TryTakeOver(idle)) return false;
        _ioTimeout.CancelNow();
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
    public bool IsImplicitTls => _implicitTls;

    /// <summary>True once TLS is established (POP3S from the start, or after STLS).</summary>
    public bool IsSecure { get; private set; }

    /// <summary>
    /// The server certificate this connection's TLS handshake used, null without TLS. SCRAM-*-PLUS
    /// hashes it for tls-server-end-point channel binding (RFC 5929 §4); it stays the same for the
    /// whole connection even when the certificate files are reloaded meanwhile.
    /// </summary>
    public X509Certificate2? TlsCertificate { get; private set; }

    /// <summary>
    /// Whether a password may be sent in the clear (USER/PASS, SASL PLAIN and LOGIN), the one place
    /// that decides it, like Dovecot's disable_plaintext_auth: yes over TLS, yes from a loopback
    /// address (the password never crosses a network), yes when <see cref="Pop3Options.AllowPlaintext"/>
    /// is set; otherwise no. Commands that are refused reply with <see cref="RejectPlaintext"/>; CAPA
    /// leaves out what is refused. APOP, CRAM-MD5 and SCRAM never reveal the password and stay allowed.
    /// </summary>
    public bool PlaintextAllowed => IsSecure || _server.Options.AllowPlaintext || IsLoopback(RemoteEndPoint);

    private static bool OffersApop(Pop3ServerContext server) => server.Options.Apop switch
    {
        ApopMode.On => true,
        ApopMode.Off => false,
        _ => server.Authenticator.HasApopSecrets,
    };

    /// <summary>STLS is offered: TLS is configured, not yet active, and nobody has logged in (RFC 2595 §4).</summary>
    internal bool CanStartTls => _server.Certificates is not null && !IsSecure && State == Pop3State.Authorization;

    /// <summary>
    /// The APOP timestamp sent in the greeting, angle brackets included (RFC 1939 §7); null when this greeting offers
    /// no APOP (see <see cref="Pop3Options.Apop"/>).
    /// </summary>
    public string? Timestamp { get; }

    internal Pop3ServerContext Server => _server;

    internal ILogger Logger { get; }

    internal PipeWriter Output => _output;

    /// <summary>
    /// The socket of a plain connection whose bytes reach it unchanged (no TLS, no hook around the transport): what
    /// <see cref="Commands.ZeroCopyRetr"/> hands to sendfile(2). Null otherwise.
    /// </summary>
    internal Socket? PlainSocket => !IsSecure && _transport is NetworkStream network ? network.Socket : null;

    /// <summary>Arms the write timeout for output that bypasses <see cref="Output"/> (sendfile); disarm with <see cref="DisarmWriteTimeout"/>.</summary>
    internal CancellationToken ArmWriteTimeout() => _ioTimeout.Arm(_server.Options.WriteTimeout);

    internal void DisarmWriteTimeout() => DisarmTimer();

    /// <summary>The name given by USER, waiting for PASS.</summary>
    internal string? PendingUser { get; set; }

    internal TransactionMaildrop? Transaction { get; private set; }

    internal int RetrievedCount { get; set; }

    internal long BytesSent { get; set; }

    public async Task RunAsync(CancellationToken stopping)
    {
        Pop3Log.Connected(Logger, Id, RemoteEndPoint);
        _server.Metrics.SessionStarted();
        using var scope = Logger.BeginScope("Session {SessionId} {Peer}", Id, RemoteEndPoint);
        // Left after EndAsync has released the mailbox, so a kick's caller can count on the lock being free.
        using var registration = _server.Sessions.Register(this);
        // One cancellation for the whole session, the I/O deadline's: a shutdown, a kick and a takeover fire it
        // as a timeout does, and the catch clauses below tell them apart. No linked or per-session timer sources.
        var serverStopping = stopping;
        var stoppingRegistration = _ioTimeout.CancelWhen(serverStopping);
        stopping = _ioTimeout.Token;
        try
        {
            if (_implicitTls && !await StartTlsAsync().ConfigureAwait(false)) return;
            Pop3Reply.Ok(_output, Timestamp is null ? "Restante POP3 server ready." : $"Restante POP3 server ready. {Timestamp}");
            if (!await FlushAsync().ConfigureAwait(false)) return;
            await ProcessCommandsAsync(stopping).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (_kicked)
        {
            _endReason = "kicked by the administrator";
            if (!_handshaking) await TrySayGoodbyeAsync("-ERR Disconnected by the administrator.\r\n"u8.ToArray()).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (serverStopping.IsCancellationRequested)
        {
            _endReason = "server shutting down";
            if (!_handshaking) await TrySayGoodbyeAsync("-ERR Server shutting down.\r\n"u8.ToArray()).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (Activity.TakenOver)
        {
            _endReason = "taken over by a new login";
            await TrySayGoodbyeAsync("-ERR [IN-USE] Another login took over this mailbox; nothing was deleted.\r\n"u8.ToArray()).ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
            // The I/O timer fired: the client went silent or stopped reading.
            _endReason = _handshaking ? "TLS handshake timed out" : "timed out";
            if (!_handshaking) await TrySayGoodbyeAsync("-ERR Disconnected for inactivity.\r\n"u8.ToArray()).ConfigureAwait(false);
        }
        catch (IOException)
        {
            _endReason = "connection lost";
        }
        catch (Exception ex) when (ex is not OutOfMemoryException)
        {
            _endReason = "internal error";
            Pop3Log.SessionFailed(Logger, ex, Id);
        }
        finally
        {
            await EndAsync().ConfigureAwait(false);
            // Unregister before disposing, so a shutdown that comes later never cancels a disposed source.
            await stoppingRegistration.DisposeAsync().ConfigureAwait(false);
            _ioTimeout.Dispose();
        }
    }

    /// <summary>Ends the session from outside, as a shutdown does: no UPDATE, so nothing is deleted.</summary>
    internal void Kick()
    {
        _kicked = true;
        _ioTimeout.CancelNow();
    }

    private async Task ProcessCommandsAsync(CancellationToken stopping)
    {
        while (true)
        {
            await ReadInputAsync().ConfigureAwait(false);
            var outcome = CommandOutcome.Continue;
            while (outcome == CommandOutcome.Continue)
            {
                if (_discardingLongLine)
                {
                    if (!LineReader.TrySkipPastLineEnd(ref _unread)) break;
                    _discardingLongLine = false;
                }

                var status = LineReader.TryTakeLine(ref _unread, _server.Options.MaxAuthLine, out var line);
                if (status == LineStatus.NeedMoreData) break;
                if (status == LineStatus.TooLong)
                {
                    // Answer once, then drop everything up to the line end: a flood without
                    // line ends never makes the server buffer more than the ceiling.
                    _discardingLongLine = true;
                    outcome = Reject("Line too long.");
                    continue;
                }
                outcome = await ExecuteLineAsync(line, stopping).ConfigureAwait(false);
                _lastCommandAt = _server.TimeProvider.GetTimestamp();
                if (outcome == CommandOutcome.Continue && !_rejectedThisCommand) _consecutiveErrors = 0;
                if (_consecutiveErrors >= _server.Options.MaxBadCommands)
                {
                    Pop3Reply.Err(_output, ResponseCode.None, ResponseTexts.Translate(Language, "Too many bad commands, closing connection."), utf8: !Language.IsDefault);
                    _endReason = "too many bad commands";
                    outcome = CommandOutcome.Close;
                }
                // Replies to pipelined commands go out before more commands run (see PendingOutput).
                if (outcome == CommandOutcome.Continue && PendingOutput.IsOverLimit(_output) && !await FlushAsync().ConfigureAwait(false)) return;
            }

            // Bytes after STLS were sent before the handshake, in the clear: they are dropped with
            // the plaintext reader below, never executed (CVE-2011-0411, STARTTLS command injection).
            var pipelinedAfterStls = outcome == CommandOutcome.StartTls ? _unread.Length : 0;
            ReleaseInput();
            if (!await FlushAsync().ConfigureAwait(false)) return;
            if (outcome == CommandOutcome.Close) return;
            if (outcome == CommandOutcome.StartTls)
            {
                if (_inputCompleted) return;
                if (pipelinedAfterStls > 0) Pop3Log.DiscardedAfterStls(Logger, pipelinedAfterStls);
                if (!await StartTlsAsync().ConfigureAwait(false)) return;
                continue;
            }
            if (_inputCompleted) return;
        }
    }

    /// <summary>One read from the client with the autologout timer armed; the bytes land in <see cref="_unread"/>.</summary>
    private async ValueTask ReadInputAsync()
    {
        if (!Activity.BeginWaiting()) throw new OperationCanceledException();
        var read = await _input.ReadAsync(_ioTimeout.Arm(TimeUntilAutologout())).ConfigureAwait(false);
        _unread = read.Buffer;
        _inputCompleted = read.IsCompleted;
        _holdingRead = true;
        DisarmTimer();
        if (!Activity.EndWaiting(receivedBytes: true)) throw new OperationCanceledException();
    }

    /// <summary>Hands the consumed part of the current read back to the pipe (everything was examined).</summary>
    private void ReleaseInput()
    {
        if (!_holdingRead) return;
        _input.AdvanceTo(_unread.Start, _unread.End);
        _holdingRead = false;
    }

    /// <summary>
    /// Reads the client's next line in the middle of a command (a SASL response, RFC 5034 §4), with its own ceiling.
    /// Returns the line without its line end, <see cref="ContinuationLine.TooLong"/> (the rest of the line is then
    /// skipped like any overlong line), or <see cref="ContinuationLine.Closed"/> when the client is gone.
    /// </summary>
    /// <remarks>
    /// The batch loop and this method consume from one cursor, <see cref="_unread"/>, so there is exactly one owner of
    /// the pipe at a time and nothing is copied or lost:
    /// <list type="number">
    /// <item>a line the client already sent (pipelined behind AUTH) is taken from the current batch, and the challenge
    /// waiting in the output goes out with the batch's single flush, in order;</item>
    /// <item>otherwise the client is waiting for our challenge: flush it, hand the read back to the pipe, and read
    /// again with the autologout timer armed (the same timer as between commands);</item>
    /// <item>when the command returns, the batch loop simply continues from <see cref="_unread"/>, which now holds
    /// whatever followed the continuation line.</item>
    /// </list>
    /// A line that does not fit is not consumed here; the batch loop discards it after the command has answered.
    /// </remarks>
    internal async ValueTask<ContinuationLine> ReadContinuationLineAsync(int maxLength, CancellationToken cancellationToken)
    {
        while (true)
        {
            cancellationToken.ThrowIfCancellationRequested();
            if (_holdingRead)
            {
                var status = LineReader.TryTakeLine(ref _unread, maxLength, out var line);
                if (status == LineStatus.Complete)
                {
                    // A SASL response: the attempt the failure time is measured from starts again here, not at the
                    // AUTH line, since the client's round trips are not ours to hide.
                    BeginLoginAttempt();
                    return ContinuationLine.Of(line.ToArray());
                }
                if (status == LineStatus.TooLong)
                {
                    _discardingLongLine = true;
                    return ContinuationLine.TooLong;
                }
                if (_inputCompleted) return ContinuationLine.Closed;
                ReleaseInput();
            }
            if (!await FlushAsync().ConfigureAwait(false)) return ContinuationLine.Closed;
            await ReadInputAsync().ConfigureAwait(false);
        }
    }

    /// <summary>
    /// What SASL may know about this connection: TLS or not, the plaintext policy's decision, and the
    /// tls-server-end-point channel binding of the certificate this connection's handshake used (RFC 5929 §4).
    /// </summary>
    internal SaslContext CreateSaslContext() => new(
        IsSecure, PlaintextAllowed, TlsCertificate is { } certificate ? ChannelBindings.TlsServerEndPoint(certificate) : null, _server.Sasl);

    /// <summary>
    /// RFC 2595 §4 STLS (after its +OK is flushed) and RFC 8314 §3.3 implicit TLS (before the
    /// greeting): drops the plaintext reader and writer with whatever they still hold, handshakes
    /// within what is left of <see cref="Pop3Options.LoginTimeout"/>, and reads and writes through TLS from then on.
    /// False when the handshake failed: only this connection ends (a connection failure, STYLE §11).
    /// </summary>
    private async ValueTask<bool> StartTlsAsync()
    {
        var certificate = _server.Certificates!.Current;
        await _input.CompleteAsync().ConfigureAwait(false);
        await _output.CompleteAsync().ConfigureAwait(false);
        // RFC 2595 §4: the server remains in AUTHORIZATION; nothing learnt in the clear carries over.
        PendingUser = null;

        var tls = new SslStream(_transport, leaveInnerStreamOpen: true);
        _tls = tls;
        _handshaking = true;
        // An abandoned handshake is a client that does not log in: the login deadline applies.
        var handshakeDeadline = _ioTimeout.Arm(TimeUntilAutologout());
        try
        {
            await tls.AuthenticateAsServerAsync(_server.Certificates.ServerOptions(certificate), handshakeDeadline).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is AuthenticationException or IOException or SocketException && !_ioTimeout.Fired)
        {
            _endReason = "TLS handshake failed";
            Pop3Log.TlsFailed(Logger, Id, RemoteEndPoint, ex.GetBaseException().Message);
            return false;
        }
        DisarmTimer();
        _handshaking = false;

        IsSecure = true;
        _tlsProtocol = tls.SslProtocol;
        TlsCertificate = certificate.Certificate;
        _transport = _server.Hooks is { } hooks ? hooks.OnTransport(this, tls) : tls;
        ReplaceTransport(
            PipeReader.Create(_transport, s_readerOptions),
            PipeWriter.Create(_transport, s_writerOptions));
        Pop3Log.TlsEstablished(Logger, Id, tls.SslProtocol, tls.NegotiatedCipherSuite);
        return true;
    }

    /// <summary>"no", or the protocol TLS was established with, for the end-of-session line.</summary>
    private static string TlsText(SslProtocols protocol, bool secure) => !secure ? "no" : protocol switch
    {
        SslProtocols.Tls13 => "TLSv1.3",
        SslProtocols.Tls12 => "TLSv1.2",
        _ => protocol.ToString(),
    };

    /// <summary>127.0.0.0/8, ::1, and IPv4-mapped loopback; a Unix socket is local too. Unknown: not loopback.</summary>
    private static bool IsLoopback(EndPoint? endPoint) => endPoint switch
    {
        IPEndPoint ip => IPAddress.IsLoopback(ip.Address.IsIPv4MappedToIPv6 ? ip.Address.MapToIPv4() : ip.Address),
        UnixDomainSocketEndPoint => true,
        _ => false,
    };

    /// <summary>
    /// Before login the clock runs from the connection's start and nothing resets it, so a client
    /// trickling a byte at a time (slowloris) is gone after LoginTimeout all the same. After login
    /// only a complete command resets it (RFC 1939 §3: the autologout timer).
    /// </summary>
    private TimeSpan TimeUntilAutologout()
    {
        var (since, limit) = State == Pop3State.Transaction
            ? (_lastCommandAt, _server.Options.IdleTimeout)
            : (_connectedAt, _server.Options.LoginTimeout);
        var left = limit - _server.TimeProvider.GetElapsedTime(since);
        return left > TimeSpan.Zero ? left : TimeSpan.FromTicks(1);
    }

    private async ValueTask<CommandOutcome> ExecuteLineAsync(ReadOnlySequence<byte> line, CancellationToken stopping)
    {
        _rejectedThisCommand = false;
        // Lines are short (the ceiling is MaxAuthLine); copy once so commands may await safely.
        var bytes = line.ToArray();
        var verb = CommandParser.Parse(bytes, out var argumentSpan);
        // Where the arguments start, found by position: they need not run to the end of the line (trailing spaces).
        var argumentOffset = argumentSpan.IsEmpty || !bytes.AsSpan().Overlaps(argumentSpan, out var offset) ? bytes.Length : offset;
        var arguments = new ReadOnlyMemory<byte>(bytes, argumentOffset, argumentSpan.Length);

        if (verb != Pop3Verb.Auth && bytes.Length + 2 > _server.Options.MaxCommandLine)
            return Reject("Line too long.");

        if (verb == Pop3Verb.Unknown)
        {
            // Neither echoed nor logged: a mistyped verb may carry a credential ("AUTH PLAN <base64>").
            Pop3Log.UnknownCommand(Logger, bytes.Length);
            return Reject(bytes.Length == 0 ? "Empty command." : "Unknown command.");
        }

        if (!StateTable.Allows(State, verb))
        {
            LogCommand(verb, default, "-ERR");
            return Reject(State == Pop3State.Authorization
                ? "Command not valid before login."
                : "Command not valid after login.");
        }

        if (verb is Pop3Verb.Pass or Pop3Verb.Apop or Pop3Verb.Auth && _server.Throttle.IsBlocked(RemoteAddress))
        {
            // Refused before any password is looked at: a blocked guesser costs the server nothing.
            LogCommand(verb, default, "-ERR");
            _server.Metrics.Login(MetricTags.MechanismOf(verb), MetricTags.Throttled);
            PendingUser = null;
            return Reject("Too many failed logins from your address, try again later.", ResponseCode.SysTemp);
        }

        if (verb is not (Pop3Verb.Pass or Pop3Verb.Auth) && HasOverlongArgument(argumentSpan))
        {
            LogCommand(verb, default, "-ERR");
            return Reject("Argument too long.");
        }

        if (_server.Hooks is { } hooks)
            await hooks.BeforeCommandAsync(this, verb.ToString().ToUpperInvariant(), User ?? PendingUser, stopping).ConfigureAwait(false);
        var command = Pop3Commands.For(verb);
        if (verb is Pop3Verb.Pass or Pop3Verb.Apop or Pop3Verb.Auth) BeginLoginAttempt();
        CommandOutcome outcome;
        try
        {
            outcome = await command.ExecuteAsync(this, arguments, stopping).ConfigureAwait(false);
        }
        catch (Auth.PasswordHashingBusyException)
        {
            // Nothing was checked, so nothing is counted; answered at once (a temporary condition, RFC 3206 §4).
            Pop3Log.HashingSaturated(Logger, _server.Authenticator.Hashing.QueueDepth, verb.ToString().ToUpperInvariant(), RemoteEndPoint);
            _server.Metrics.Login(MetricTags.MechanismOf(verb), MetricTags.Busy);
            PendingUser = null;
            outcome = Reject("Server busy, please try again later.", ResponseCode.SysTemp);
        }
        catch (Auth.UserDirectoryUnavailableException ex)
        {
            // The directory could not say yes or no: a temporary failure (RFC 3206 §4), not a failed login.
            Pop3Log.StoreFailure(Logger, ex, PendingUser ?? "");
            PendingUser = null;
            outcome = Reject("Temporary authentication failure, please try again later.", ResponseCode.SysTemp);
        }
        LogCommand(verb, arguments.Span, _rejectedThisCommand ? "-ERR" : "+OK");
        return outcome;
    }

    private bool HasOverlongArgument(ReadOnlySpan<byte> arguments)
    {
        while (!arguments.IsEmpty)
        {
            if (CommandParser.NextArgument(ref arguments).Length > _server.Options.MaxArgumentLength) return true;
        }
        return false;
    }

    private void LogCommand(Pop3Verb verb, ReadOnlySpan<byte> arguments, string status)
    {
        if (!Logger.IsEnabled(LogLevel.Debug)) return;
        // Secrets never reach the log: PASS, APOP and AUTH arguments are redacted whole. The rest is
        // client text, escaped as one token (LogText).
        var shown = verb switch
        {
            Pop3Verb.Pass or Pop3Verb.Auth => arguments.IsEmpty ? string.Empty : "<redacted>",
            Pop3Verb.Apop => LogText.Of(arguments[..Math.Max(0, arguments.IndexOf((byte)' '))]) + " <redacted>",
            _ => arguments.IsEmpty ? string.Empty : LogText.Of(arguments),
        };
        Pop3Log.Command(Logger, verb.ToString().ToUpperInvariant(), shown, status);
    }

    /// <summary>Writes a one-line -ERR and counts it toward <see cref="Pop3Options.MaxBadCommands"/>.</summary>
    internal CommandOutcome Reject(string text, ResponseCode code = ResponseCode.None)
    {
        Pop3Reply.Err(_output, code, ResponseTexts.Translate(Language, text), utf8: !Language.IsDefault);
        _rejectedThisCommand = true;
        _consecutiveErrors++;
        return CommandOutcome.Continue;
    }

    /// <summary>The refusal of a clear-text password where <see cref="PlaintextAllowed"/> is false (Dovecot's text).</summary>
    internal CommandOutcome RejectPlaintext()
        => Reject("Plaintext authentication disallowed on non-secure connections.", ResponseCode.Auth);

    /// <summary>Starts the clock a failed login is answered by (see <see cref="FailLoginAsync"/>).</summary>
    private void BeginLoginAttempt() => _attemptStartedAt = _server.TimeProvider.GetTimestamp();

    /// <summary>
    /// The failed-login answer: the same text at the same time whatever went wrong, so a client cannot tell an unknown
    /// user from a wrong password, nor one password scheme from another. The time is <see cref="Pop3Options.AuthFailureDelay"/>
    /// after the attempt began, with the password check inside it (a delay added after the check would let the
    /// check's cost show: bcrypt, Argon2id and an unknown user's dummy hash all differ). A success is answered as soon
    /// as the mailbox is open: it already proves the user exists, and its time shows only that user's own hash.
    /// </summary>
    internal async ValueTask<CommandOutcome> FailLoginAsync(string user, string mechanism, CancellationToken cancellationToken)
    {
        Pop3Log.AuthFailed(Logger, RemoteEndPoint, LogText.Of(user), LogText.Of(mechanism));
        PendingUser = null;
        _server.Throttle.RecordFailure(RemoteAddress, user);
        var delay = _server.Options.AuthFailureDelay;
        if (delay > TimeSpan.Zero)
        {
            var elapsed = _server.TimeProvider.GetElapsedTime(_attemptStartedAt);
            if (elapsed < delay)
                await Task.Delay(delay - elapsed, _server.TimeProvider, cancellationToken).ConfigureAwait(false);
            else
                Pop3Log.FailureDelayExceeded(Logger, mechanism, elapsed, delay);
        }
        _server.Metrics.Login(mechanism, MetricTags.Failure, _server.TimeProvider.GetElapsedTime(_attemptStartedAt));
        return Reject("Authentication failed.", ResponseCode.Auth);
    }

    /// <summary>
    /// The only way into TRANSACTION: opens and locks the maildrop (RFC 1939 §4). On failure the
    /// session stays in AUTHORIZATION with an -ERR written.
    /// </summary>
    /// <param name="record">The user's record when the login just looked it up (the policy then needs no second lookup).</param>
    internal async ValueTask<CommandOutcome> EnterTransactionAsync(string user, string mechanism, CancellationToken cancellationToken,
        Auth.UserRecord? record = null)
    {
        PendingUser = null;
        if (_server.Hooks?.OnLogin(this, user) is { } refusal)
        {
            _server.Metrics.Login(mechanism, MetricTags.Refused);
            return Reject(RefusalText(refusal), refusal);
        }
        // The credentials were right: this address's earlier failures for this user were the owner's own (a client
        // trying APOP first, a mistyped password), not guessing; Dovecot's auth penalty is cleared the same way.
        _server.Throttle.RecordSuccess(RemoteAddress, user);
        var policy = await _server.PolicyForAsync(user, record, cancellationToken).ConfigureAwait(false);

        // The lock, the listing's folders and the policy state file: a slot until the session is idle (or refused, unlocked).
        using var descriptors = await _server.CommandDescriptors.EnterAsync("login", cancellationToken).ConfigureAwait(false);
        if (descriptors is null)
        {
            _server.Metrics.Login(mechanism, MetricTags.Unavailable);
            return Reject("Server busy, please try again later.", ResponseCode.SysTemp);
        }
        IMaildrop maildrop;
        try
        {
            maildrop = await _server.Takeover.OpenAsync(_server.Store, user, this, cancellationToken).ConfigureAwait(false);
        }
        catch (MailStoreException ex) when (ex.Kind == MailStoreErrorKind.InUse)
        {
            Pop3Log.InUse(Logger, user);
            _server.Metrics.LockRefused();
            _server.Metrics.Login(mechanism, MetricTags.InUse);
            return Reject("Mailbox is locked by another POP3 session.", ResponseCode.InUse);
        }
        catch (MailStoreException ex)
        {
            Pop3Log.StoreFailure(Logger, ex, user);
            _server.Metrics.Login(mechanism, MetricTags.Unavailable);
            return ex.Kind == MailStoreErrorKind.Transient
                ? Reject("Mailbox is temporarily unavailable, please try again later.", ResponseCode.SysTemp)
                : Reject("Mailbox cannot be opened.", ResponseCode.SysPerm);
        }

        // RFC 2449 §6.5 LOGIN-DELAY, checked only now that the password was right (a refusal tells nothing to someone
        // without it) and against the last login the store recorded, so it holds across restarts and nodes.
        if (await IsLoginTooSoonAsync(maildrop, policy, user).ConfigureAwait(false))
        {
            _server.Metrics.Login(mechanism, MetricTags.LoginDelay);
            return Reject("Minimum time between logins not reached, try again later.", ResponseCode.LoginDelay);
        }
        Transaction = new TransactionMaildrop(await PolicyMaildrop.StartAsync(maildrop, policy, _server.TimeProvider, Logger, user, cancellationToken).ConfigureAwait(false));
        User = user;
        State = Pop3State.Transaction;
        _server.Takeover.Holding(user, this);
        Quirks = ClientQuirks.Resolve(_server.Options.Quirks, RemoteAddress, user);
        _mechanism = mechanism;
        _server.Metrics.Login(mechanism, MetricTags.Success, _server.TimeProvider.GetElapsedTime(_attemptStartedAt));
        Pop3Log.LoggedIn(Logger, user, mechanism, Transaction.Count, Transaction.LiveSize);
        WriteOk($"Logged in, {Transaction.Count} messages ({Transaction.LiveSize} octets).");
        return CommandOutcome.Continue;
    }

    /// <summary>
    /// Whether the user's LOGIN-DELAY refuses this login; if so the maildrop is released at once, untouched. A store
    /// that keeps no policy state (<see cref="IPolicyMaildrop"/>) falls back to this process's memory of logins.
    /// </summary>
    private async ValueTask<bool> IsLoginTooSoonAsync(IMaildrop maildrop, Policies.MailboxPolicy policy, string user)
    {
        if (policy.LoginDelay <= TimeSpan.Zero) return false;
        var tooSoon = maildrop is IPolicyMaildrop state
            ? PolicyMaildrop.IsTooSoon(state, policy, _server.TimeProvider.GetUtcNow())
            : !_server.LoginHistory.TryRecordLogin(user, policy.LoginDelay);
        if (!tooSoon) return false;
        Pop3Log.LoginDelayed(Logger, LogText.Of(user), policy.LoginDelay);
        await maildrop.DisposeAsync().ConfigureAwait(false);
        return true;
    }

    /// <summary>The texts this server uses for each refusal of a login, for a refusal an <see cref="IPop3SessionHooks"/> asked for.</summary>
    private static string RefusalText(ResponseCode code) => code switch
    {
        ResponseCode.InUse => "Mailbox is locked by another POP3 session.",
        ResponseCode.LoginDelay => "Minimum time between logins not reached, try again later.",
        ResponseCode.SysTemp => "Mailbox is temporarily unavailable, please try again later.",
        ResponseCode.SysPerm => "Mailbox cannot be opened.",
        _ => "Authentication failed.",
    };

    /// <summary>RFC 1939 §6: QUIT in TRANSACTION enters UPDATE and removes the marked messages.</summary>
    internal async ValueTask<CommandOutcome> UpdateAsync(CancellationToken cancellationToken)
    {
        var transaction = Transaction!;
        State = Pop3State.Update;
        // Seen flags, deletions and the policy state open folders and files: without a slot, nothing is changed.
        using var descriptors = await _server.CommandDescriptors.EnterAsync("QUIT", cancellationToken).ConfigureAwait(false);
        if (descriptors is null)
        {
            await ReleaseMaildropAsync().ConfigureAwait(false);
            _endReason = "quit";
            Reject("Server busy, nothing was deleted, try again later.", ResponseCode.SysTemp);
            return CommandOutcome.Close;
        }
        await SeenOnQuit.ApplyAsync(this, transaction).ConfigureAwait(false);
        var marked = transaction.Store.ToRemoveAtQuit(transaction.DeletedIndexes());
        if (marked.Count == 0)
        {
            await ReleaseMaildropAsync().ConfigureAwait(false);
            WriteOk("Logging out.");
            _endReason = "quit";
            return CommandOutcome.Close;
        }

        ExpungeResult result;
        try
        {
            // Once UPDATE has begun it finishes even if the server is stopping: the client asked for it.
            result = await transaction.Store.ExpungeAsync(marked, CancellationToken.None).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is MailStoreException or IOException or UnauthorizedAccessException)
        {
            Pop3Log.StoreFailure(Logger, ex, User!);
            result = new ExpungeResult(0, marked.Count);
        }
        _ = cancellationToken;

        // The lock goes before the reply does: a client that logs in again the moment it reads +OK
        // (a poller, a test) must not meet [IN-USE] from the session it just ended.
        await ReleaseMaildropAsync().ConfigureAwait(false);
        _endReason = "quit";
        if (result.Complete)
        {
            WriteOk($"Logging out, {result.Removed} messages deleted.");
        }
        else
        {
            Pop3Log.ExpungeIncomplete(Logger, User!, result.Removed, marked.Count);
            // RFC 2449 §8 / RFC 3206: the removal is worth retrying, so [SYS/TEMP].
            Reject("Some deleted messages not removed.", ResponseCode.SysTemp);
        }
        return CommandOutcome.Close;
    }

    internal void SetEndReason(string reason) => _endReason = reason;

    /// <summary>Flushes with the write timeout armed; false when the client is gone.</summary>
    internal async ValueTask<bool> FlushAsync()
    {
        var result = await _output.FlushAsync(_ioTimeout.Arm(_server.Options.WriteTimeout)).ConfigureAwait(false);
        DisarmTimer();
        return !result.IsCompleted && !result.IsCanceled;
    }

    private void DisarmTimer() => _ioTimeout.Disarm();

    private ValueTask TrySayGoodbyeAsync(byte[] line) => PeerGoodbye.TrySendAsync(_transport, line);

    /// <summary>Releases the mailbox lock, once; removes nothing (only UPDATE does).</summary>
    private async ValueTask ReleaseMaildropAsync()
    {
        if (Transaction is not { } transaction || _maildropReleased) return;
        _maildropReleased = true;
        try
        {
            await transaction.Store.DisposeAsync().ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is IOException or MailStoreException)
        {
            Pop3Log.StoreFailure(Logger, ex, User!);
        }
        _server.Takeover.Released(User!, this);
        Volatile.Write(ref _maildropLetGo, true);
        // A full fence: a volatile store followed by a volatile load may be reordered, and then this side could miss a
        // signal created just now while MaildropReleased's getter misses the flag, leaving a takeover waiting it out.
        Interlocked.MemoryBarrier();
        Volatile.Read(ref _maildropReleasedSignal)?.TrySetResult();
    }

    private async ValueTask EndAsync()
    {
        var deleted = 0;
        if (Transaction is { } transaction)
        {
            if (State == Pop3State.Update && _endReason == "quit") deleted = transaction.DeletedCount;
            await ReleaseMaildropAsync().ConfigureAwait(false);
        }
        var end = SessionEndReason.Classify(_endReason);
        _server.Metrics.SessionEnded(end);
        // One summary line per session; the user and mechanism are escaped like any client text (LogText).
        Pop3Log.Ended(Logger, Id, _endReason, User is null ? "-" : LogText.Of(User), RemoteEndPoint, _mechanism ?? "-", TlsText(_tlsProtocol, IsSecure),
            RetrievedCount, deleted, BytesSent, (long)_server.TimeProvider.GetElapsedTime(_connectedAt).TotalMilliseconds, end);
        _server.Hooks?.OnEnded(this, _endReason);
        await _input.CompleteAsync().ConfigureAwait(false);
        try
        {
            await PendingOutput.DiscardAsync(_output).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is IOException or OperationCanceledException or ObjectDisposedException)
        {
            // Flushing leftovers to a vanished peer: nothing to do.
        }
        if (_tls is { } tls)
        {
            // close_notify, so clients can tell a clean end from a truncation attack.
            if (IsSecure) await TryShutdownTlsAsync(tls).ConfigureAwait(false);
            // Frees the TLS state; the socket stream below belongs to the listener.
            await tls.DisposeAsync().ConfigureAwait(false);
        }
    }

    private static async ValueTask TryShutdownTlsAsync(SslStream tls)
    {
        try
        {
            await tls.ShutdownAsync().WaitAsync(TimeSpan.FromSeconds(2)).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is IOException or TimeoutException or ObjectDisposedException or InvalidOperationException or NotSupportedException)
        {
            // The peer is gone or not reading; the connection closes anyway.
        }
    }

    internal void ReplaceTransport(PipeReader input, PipeWriter output)
    {
        _input = input;
        _output = output;
    }
}
