using System.Buffers;
using System.IO.Pipelines;
using System.Net.Security;
using System.Net.Sockets;
using System.Security.Authentication;
using Restante.Protocol;

namespace Restante.Networking;

/// <summary>
/// The connection engine under POP3 and LMTP/SMTP (STYLE §15, Kestrel's transport/protocol split): owns the bytes
/// (pipes over the socket or TLS stream), the TLS upgrade, the single I/O deadline, line framing with a ceiling,
/// the discard of overlong lines, the count of bad commands, one flush per batch and the goodbye. The protocol
/// (<see cref="ILineProtocol"/>) keeps only its state and handles one line at a time.
/// </summary>
/// <remarks>
/// Every complete line of a read runs in order and the replies are flushed once per batch, which makes pipelining
/// (RFC 2449 §6.6, RFC 2920) free (STYLE §3; dovecot's o_stream_cork around client_handle_input).
/// </remarks>
internal sealed class LineConnection
{
    private readonly StreamPipeReaderOptions _readerOptions;
    private readonly StreamPipeWriterOptions _writerOptions;
    private readonly IoDeadline _deadline;
    private readonly TimeProvider _time;
    private ILineProtocol _protocol = null!;
    private Stream _transport;
    private SslStream? _tls;
    private bool _tlsEstablished;
    // Made when needed and let go while the session waits idle (see ReleaseIdlePipes): null then.
    private PipeReader? _input;
    private PipeWriter? _output;
    // What the last ReleaseInput left unconsumed (a partial line): the reader must be kept to hold it.
    private long _leftInReader;

    // A bound on one command's whole send (see BoundSend); long.MaxValue when none. _armedBySendBound: the deadline now
    // armed is the bound's, not the write timeout's.
    private long _sendDueAt = long.MaxValue;
    private bool _armedBySendBound;

    // The input not yet consumed, shared by the batch loop and ReadLineInCommandAsync (see there).
    // _holdingRead: _unread belongs to a ReadResult not yet handed back with AdvanceTo.
    private ReadOnlySequence<byte> _unread;
    private bool _holdingRead;
    private bool _inputCompleted;
    private bool _discardingLongLine;
    private int _consecutiveErrors;

    public LineConnection(Stream transport, TimeProvider time, StreamPipeReaderOptions readerOptions, StreamPipeWriterOptions writerOptions)
    {
        _transport = transport;
        _readerOptions = readerOptions;
        _writerOptions = writerOptions;
        _time = time;
        _deadline = new IoDeadline(time);
    }

    /// <summary>Where replies are written; flushed once per batch (or by <see cref="FlushAsync"/>).</summary>
    public PipeWriter Output => _output ??= PipeWriter.Create(_transport, _writerOptions);

    private PipeReader Input => _input ??= PipeReader.Create(_transport, _readerOptions);

    /// <summary>The session has a pipe reader or writer now (none while it waits for its client: see <see cref="ReleaseIdlePipes"/>).</summary>
    internal bool HoldsPipes => HoldsReader || HoldsWriter;

    internal bool HoldsReader => _input is not null;

    internal bool HoldsWriter => _output is not null;

    /// <summary>The stream now read and written: the socket's, or the TLS stream after a handshake.</summary>
    public Stream Transport => _transport;

    /// <summary>The session's one cancellation: fired by the deadline, a server shutdown and <see cref="CancelNow"/>.</summary>
    public CancellationToken Cancellation => _deadline.Token;

    /// <summary>Why the session ended, for its summary line.</summary>
    public string EndReason { get; set; } = "client disconnected";

    /// <summary>The command now running was rejected (<see cref="CountBadCommand"/>).</summary>
    public bool CommandRejected { get; private set; }

    /// <summary>A TLS handshake is under way (a timeout now is the handshake's; no goodbye can be sent in the clear).</summary>
    public bool IsHandshaking { get; private set; }

    /// <summary>The deadline was last armed for a read (not a flush or a handshake).</summary>
    public bool LastArmedForRead { get; private set; }

    /// <summary>Counts a rejected command toward <see cref="ILineProtocol.MaxBadCommands"/>.</summary>
    public void CountBadCommand()
    {
        CommandRejected = true;
        _consecutiveErrors++;
    }

    /// <summary>The command was refused for a shortage of ours (busy, not the client's fault): neither counted nor a reset of the count.</summary>
    public void MarkRejected() => CommandRejected = true;

    /// <summary>Ends the session's current wait from any thread (a kick, a takeover).</summary>
    public void CancelNow() => _deadline.CancelNow();

    /// <summary>Arms the write deadline for output that bypasses <see cref="Output"/> (sendfile); see <see cref="Disarm"/>.</summary>
    public CancellationToken ArmWriteDeadline()
    {
        LastArmedForRead = false;
        var timeout = _protocol.WriteTimeout;
        _armedBySendBound = false;
        if (_sendDueAt != long.MaxValue)
        {
            var left = _time.GetElapsedTime(_time.GetTimestamp(), _sendDueAt);
            if (left < timeout)
            {
                timeout = left > TimeSpan.Zero ? left : TimeSpan.FromTicks(1);
                _armedBySendBound = true;
            }
        }
        return _deadline.Arm(timeout);
    }

    /// <summary>
    /// Bounds the flushes (and sendfile) of one command as a whole to <paramref name="limit"/> from now, on top of each
    /// one's write timeout (see <see cref="CommandDescriptorGate.HoldLimit"/>); dispose when the send is over.
    /// </summary>
    public SendBound BoundSend(TimeSpan limit)
    {
        var ticks = limit.TotalSeconds * _time.TimestampFrequency;
        // Saturating, as IoDeadline.Arm: a bound days away is no bound.
        _sendDueAt = ticks >= long.MaxValue / 4 ? long.MaxValue : _time.GetTimestamp() + (long)ticks;
        return new SendBound(this);
    }

    /// <summary>The deadline fired on a flush armed by the <see cref="BoundSend"/> bound: the client read too slowly.</summary>
    public bool SendBoundExpired => _armedBySendBound && _deadline.Fired;

    /// <summary>Lifts the bound of <see cref="BoundSend"/>.</summary>
    internal readonly struct SendBound(LineConnection connection) : IDisposable
    {
        // _armedBySendBound stays until the next arming: a send cut by the bound unwinds through here before the
        // session asks why it was interrupted.
        public void Dispose() => connection._sendDueAt = long.MaxValue;
    }

    /// <summary>Stops the clock; throws <see cref="OperationCanceledException"/> when it fired meanwhile.</summary>
    public void Disarm() => _deadline.Disarm();

    /// <summary>
    /// Runs the session to its end. One async frame for the whole loop (with the read inline), since every idle
    /// session holds its suspended frames: the protocol's <see cref="ILineProtocol.Begin"/> and <see cref="ILineProtocol.Finished"/>
    /// bracket it instead of an async method of its own around this one.
    /// </summary>
    public async Task RunAsync(ILineProtocol protocol, CancellationToken stopping)
    {
        _protocol = protocol;
        protocol.Begin();
        // One cancellation for the whole session, the deadline's: a shutdown fires it as a timeout does, and the
        // protocol tells them apart. No linked or per-session timer sources.
        var stoppingRegistration = _deadline.CancelWhen(stopping);
        try
        {
            if (!await protocol.OpenAsync().ConfigureAwait(false)) return;
            if (!await FlushAsync().ConfigureAwait(false)) return;
            var cancellation = _deadline.Token;
            while (true)
            {
                var token = ArmRead();
                if (WaitsBeforeReading)
                {
                    ReleaseIdlePipes();
                    await _transport.ReadAsync(Memory<byte>.Empty, token).ConfigureAwait(false);
                }
                TookRead(await Input.ReadAsync(token).ConfigureAwait(false));

                var outcome = LineOutcome.Continue;
                while (outcome == LineOutcome.Continue)
                {
                    var raw = protocol.TakeRaw(ref _unread);
                    if (raw == RawInput.NeedMoreData) break;
                    if (raw == RawInput.Ready)
                    {
                        outcome = await protocol.ProcessRawAsync(cancellation).ConfigureAwait(false);
                        continue;
                    }

                    if (_discardingLongLine)
                    {
                        if (!LineReader.TrySkipPastLineEnd(ref _unread)) break;
                        _discardingLongLine = false;
                    }
                    var status = LineReader.TryTakeLine(ref _unread, protocol.LineLimit, out var line);
                    if (status == LineStatus.NeedMoreData) break;
                    if (status == LineStatus.TooLong)
                    {
                        // Answer once, then drop everything up to the line end: a flood without line ends never makes
                        // the server buffer more than the ceiling (RFC 5321 §4.5.3.1.4; dovecot "Input line too long").
                        _discardingLongLine = true;
                        protocol.WriteLineTooLong();
                        CountBadCommand();
                    }
                    else
                    {
                        CommandRejected = false;
                        outcome = await protocol.ExecuteLineAsync(line, cancellation).ConfigureAwait(false);
                        if (outcome == LineOutcome.Continue && !CommandRejected) _consecutiveErrors = 0;
                    }
                    if (outcome == LineOutcome.Continue && _consecutiveErrors >= protocol.MaxBadCommands)
                    {
                        protocol.WriteTooManyBadCommands();
                        EndReason = "too many bad commands";
                        outcome = LineOutcome.Close;
                    }
                    // Replies to pipelined commands go out before more commands run (see PendingOutput).
                    if (outcome == LineOutcome.Continue && PendingOutput.IsOverLimit(Output) && !await FlushAsync().ConfigureAwait(false)) return;
                }

                // Bytes after STARTTLS/STLS were sent before the handshake, in the clear: they are dropped with the
                // plaintext reader, never executed (CVE-2011-0411, STARTTLS command injection).
                var pipelinedBeforeTls = outcome == LineOutcome.StartTls ? _unread.Length : 0;
                ReleaseInput();
                if (!await FlushAsync().ConfigureAwait(false)) return;
                if (outcome == LineOutcome.Close) return;
                if (outcome == LineOutcome.StartTls)
                {
                    if (_inputCompleted) return;
                    if (!await protocol.StartTlsAsync(pipelinedBeforeTls).ConfigureAwait(false)) return;
                    continue;
                }
                if (_inputCompleted)
                {
                    protocol.InputEnded();
                    return;
                }
            }
        }
        catch (OperationCanceledException)
        {
            if (protocol.Interrupted(stopping.IsCancellationRequested) is { } goodbye)
                await PeerGoodbye.TrySendAsync(_transport, goodbye).ConfigureAwait(false);
        }
        catch (IOException)
        {
            EndReason = "connection lost";
        }
        catch (Exception ex) when (ex is not OutOfMemoryException)
        {
            EndReason = "internal error";
            protocol.Failed(ex);
        }
        finally
        {
            try
            {
                await protocol.EndAsync().ConfigureAwait(false);
            }
            finally
            {
                // Even when the protocol's end failed (a store error releasing the mailbox, a hook that threw): the
                // connection is closed and the session unregistered, or it would stay listed and its stream open.
                await CloseAsync().ConfigureAwait(false);
                // Unregister before disposing, so a shutdown that comes later never cancels a disposed source.
                await stoppingRegistration.DisposeAsync().ConfigureAwait(false);
                _deadline.Dispose();
                protocol.Finished();
            }
        }
    }

    /// <summary>
    /// An idle session waits with a zero-byte read on the socket (or TLS) stream itself, not inside the pipe: it then
    /// holds no read buffer and no suspended pipe read, only the socket's own wait. The pipe reads once bytes are
    /// there. Other streams (a test kit's recording wrapper) may buffer below us, so the pipe waits for those.
    /// </summary>
    private bool WaitsBeforeReading => _transport is NetworkStream or SslStream;

    /// <summary>
    /// Before an idle wait on the socket: lets the pipes go when they hold nothing (every byte read was consumed,
    /// every reply flushed), so an idle session keeps no reader, writer, segments or their cancellation sources; they
    /// are made again when the client sends. Only when the zero-byte read waits outside the pipe.
    /// </summary>
    /// <remarks>
    /// At every wait, not only past some idle time: a pending pipe read cannot be given up later without leaving its
    /// buffer behind. Cancelling a socket read on Linux leaves the operation, with the buffer it was given, in the
    /// socket's queue until the next readiness event (.NET's SocketAsyncContext), so a session released that way holds
    /// a read segment (4 KiB for POP3) until its client sends again: 13.6 KB per idle session against 8.3 KB
    /// (bench/NOTES-engine.md). What this costs a fast client (two recvfrom with MSG_PEEK and a pipe pair per command)
    /// is measured there too.
    /// </remarks>
    private void ReleaseIdlePipes()
    {
        if (_input is { } input && _leftInReader == 0 && !_holdingRead)
        {
            input.Complete();
            _input = null;
        }
        if (_output is { } output && output.CanGetUnflushedBytes && output.UnflushedBytes == 0)
        {
            output.Complete();
            _output = null;
        }
    }

    /// <summary>Before a read: the protocol may still wait (not taken over), and its read deadline is armed.</summary>
    private CancellationToken ArmRead()
    {
        if (!_protocol.BeginWaiting()) throw new OperationCanceledException();
        var timeout = _protocol.NextReadTimeout();
        LastArmedForRead = true;
        _armedBySendBound = false;
        return _deadline.Arm(timeout);
    }

    /// <summary>After a read: the bytes land in <see cref="_unread"/>, the deadline is disarmed.</summary>
    private void TookRead(ReadResult read)
    {
        _unread = read.Buffer;
        _inputCompleted = read.IsCompleted;
        _holdingRead = true;
        _deadline.Disarm();
        if (!_protocol.EndWaiting()) throw new OperationCanceledException();
    }

    /// <summary>Hands the consumed part of the current read back to the pipe (everything was examined).</summary>
    private void ReleaseInput()
    {
        if (!_holdingRead) return;
        _input!.AdvanceTo(_unread.Start, _unread.End);
        _leftInReader = _unread.Length;
        _unread = default;
        _holdingRead = false;
    }

    /// <summary>
    /// Reads the client's next line in the middle of a command (a SASL response, RFC 5034 §4), with its own ceiling.
    /// <see cref="LineStatus.Complete"/> with the line (a copy, without its line end); <see cref="LineStatus.TooLong"/>
    /// (the rest of the line is then skipped like any overlong line); <see cref="LineStatus.NeedMoreData"/> when the
    /// client is gone and no more will come.
    /// </summary>
    /// <remarks>
    /// The batch loop and this method consume from one cursor, <see cref="_unread"/>, so there is exactly one owner of
    /// the pipe at a time and nothing is copied or lost: a line the client already sent (pipelined behind AUTH) is
    /// taken from the current batch, and the challenge waiting in the output goes out with the batch's single flush,
    /// in order; otherwise the client waits for our challenge: flush it, hand the read back, and read again with the
    /// read deadline armed. When the command returns, the batch loop continues from <see cref="_unread"/>.
    /// A line that does not fit is not consumed here; the batch loop discards it after the command has answered.
    /// </remarks>
    public async ValueTask<(LineStatus Status, byte[] Line)> ReadLineInCommandAsync(int maxLength, CancellationToken cancellationToken)
    {
        while (true)
        {
            cancellationToken.ThrowIfCancellationRequested();
            if (_holdingRead)
            {
                var status = LineReader.TryTakeLine(ref _unread, maxLength, out var line);
                if (status == LineStatus.Complete) return (status, line.ToArray());
                if (status == LineStatus.TooLong)
                {
                    _discardingLongLine = true;
                    return (status, []);
                }
                if (_inputCompleted) return (LineStatus.NeedMoreData, []);
                ReleaseInput();
            }
            if (!await FlushAsync().ConfigureAwait(false)) return (LineStatus.NeedMoreData, []);
            var token = ArmRead();
            if (WaitsBeforeReading)
            {
                ReleaseIdlePipes();
                await _transport.ReadAsync(Memory<byte>.Empty, token).ConfigureAwait(false);
            }
            TookRead(await Input.ReadAsync(token).ConfigureAwait(false));
        }
    }

    /// <summary>Flushes with the write deadline armed; false when the client is gone.</summary>
    public async ValueTask<bool> FlushAsync()
    {
        var result = await Output.FlushAsync(ArmWriteDeadline()).ConfigureAwait(false);
        _deadline.Disarm();
        return !result.IsCompleted && !result.IsCanceled;
    }

    /// <summary>
    /// RFC 2595 §4 STLS / RFC 3207 STARTTLS (after the go-ahead is flushed) and RFC 8314 §3.3 implicit TLS (before the
    /// greeting): drops the plaintext reader and writer with whatever they still hold and handshakes within
    /// <paramref name="within"/>. The caller then reads and writes through <see cref="UseTransport"/>. On failure
    /// (a connection failure, STYLE §11) returns the reason and the end reason is set.
    /// </summary>
    public async ValueTask<(SslStream? Tls, string? Error)> HandshakeAsync(SslServerAuthenticationOptions options, TimeSpan within)
    {
        if (_input is { } input) await input.CompleteAsync().ConfigureAwait(false);
        if (_output is { } output) await output.CompleteAsync().ConfigureAwait(false);
        _input = null;
        _output = null;
        _leftInReader = 0;
        var tls = new SslStream(_transport, leaveInnerStreamOpen: true);
        _tls = tls;
        IsHandshaking = true;
        LastArmedForRead = false;
        var deadline = _deadline.Arm(within);
        try
        {
            await tls.AuthenticateAsServerAsync(options, deadline).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is AuthenticationException or IOException or SocketException && !_deadline.Fired)
        {
            EndReason = "TLS handshake failed";
            return (null, ex.GetBaseException().Message);
        }
        _deadline.Disarm();
        IsHandshaking = false;
        _tlsEstablished = true;
        return (tls, null);
    }

    /// <summary>Reads and writes through <paramref name="transport"/> from now on (the TLS stream, possibly wrapped).</summary>
    public void UseTransport(Stream transport)
    {
        _transport = transport;
        _input = null;
        _output = null;
        _leftInReader = 0;
    }

    private async ValueTask CloseAsync()
    {
        if (_input is { } input) await input.CompleteAsync().ConfigureAwait(false);
        try
        {
            if (_output is { } output) await PendingOutput.DiscardAsync(output).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is IOException or OperationCanceledException or ObjectDisposedException)
        {
            // Flushing leftovers to a vanished peer: nothing to do.
        }
        if (_tls is { } tls)
        {
            // close_notify, so clients can tell a clean end from a truncation attack.
            if (_tlsEstablished) await TryShutdownTlsAsync(tls).ConfigureAwait(false);
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
}
