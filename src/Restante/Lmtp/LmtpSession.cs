using System.Buffers;
using System.IO.Pipelines;
using System.Net;
using System.Security.Cryptography;
using Microsoft.Extensions.Logging;
using Restante.Delivery;
using Restante.Networking;
using Restante.Protocol;

namespace Restante.Lmtp;

/// <summary>
/// One LMTP (RFC 2033) or SMTP (RFC 5321) connection, from greeting to close: the same engine for
/// both, the <see cref="DeliveryDialect"/> decides the few differences. Like the POP3 session it
/// runs every complete line of a batch and flushes once (PIPELINING, RFC 2920, for free). DATA
/// streams into a spool; after the final "." each recipient gets its own copy, and LMTP answers
/// once per recipient, in RCPT order (RFC 2033 §4.2).
/// </summary>
public sealed class LmtpSession
{
    private static long s_nextSessionId;

    private readonly LmtpServerContext _server;
    private readonly Stream _transport;
    // Shared (the options are immutable). Zero-byte reads: a session waiting for its MTA's next command holds no
    // 16 KiB read buffer, as POP3 sessions do.
    private static readonly StreamPipeReaderOptions s_readerOptions = new(bufferSize: 16 * 1024, minimumReadSize: 4096, leaveOpen: true, useZeroByteReads: true);
    private static readonly StreamPipeWriterOptions s_writerOptions = new(minimumBufferSize: 4096, leaveOpen: true);
    private readonly IoDeadline _ioTimeout;
    private readonly PipeReader _input;
    private readonly PipeWriter _output;
    private int _consecutiveErrors;
    private bool _rejectedThisCommand;
    private bool _discardingLongLine;
    private DataReception? _data;
    private int _transactions;
    private int _lastReplyCode;
    private string _endReason = "client disconnected";
    private long _dataStartedAt;
    // The I/O timer now armed is the DATA time limit (not the idle or write timeout): decides the goodbye.
    private bool _armedForDataLimit;

    public LmtpSession(LmtpServerContext server, DeliveryDialect dialect, Stream transport, EndPoint? remoteEndPoint)
    {
        _server = server;
        _transport = transport;
        Dialect = dialect;
        RemoteEndPoint = remoteEndPoint;
        Id = Interlocked.Increment(ref s_nextSessionId);
        _input = PipeReader.Create(transport, s_readerOptions);
        _output = PipeWriter.Create(transport, s_writerOptions);
        _ioTimeout = new IoDeadline(server.TimeProvider);
        Logger = server.Logger;
    }

    public long Id { get; }

    public DeliveryDialect Dialect { get; }

    public EndPoint? RemoteEndPoint { get; }

    public SmtpState State { get; private set; } = SmtpState.Connected;

    internal LmtpServerContext Server => _server;

    internal ILogger Logger { get; }

    internal PipeWriter Output => _output;

    /// <summary>The name given in LHLO/EHLO/HELO.</summary>
    internal string? ClientName { get; private set; }

    internal MailTransaction? Transaction { get; private set; }

    public async Task RunAsync(CancellationToken stopping)
    {
        LmtpLog.Connected(Logger, Dialect, Id, RemoteEndPoint);
        using var scope = Logger.BeginScope("{Protocol} session {SessionId} {Peer}", Dialect, Id, RemoteEndPoint);
        var stoppingRegistration = _ioTimeout.CancelWhen(stopping);
        try
        {
            // RFC 5321 §4.2 / RFC 2033 §4: the greeting names the host and the protocol.
            SmtpReply.Write(_output, 220, "", $"{_server.Hostname} {(Dialect == DeliveryDialect.Lmtp ? "LMTP" : "ESMTP")} Restante ready", last: true);
            if (!await FlushAsync().ConfigureAwait(false)) return;
            await ProcessAsync(stopping).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (stopping.IsCancellationRequested)
        {
            _endReason = "server shutting down";
            await TrySayGoodbyeAsync("421 4.3.2 Server shutting down\r\n"u8.ToArray()).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (_armedForDataLimit && !stopping.IsCancellationRequested)
        {
            _endReason = "DATA time limit reached";
            await TrySayGoodbyeAsync("421 4.4.2 DATA took too long, closing connection\r\n"u8.ToArray()).ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
            // RFC 5321 §4.5.3.2: on a timeout the server closes, preferably after a 421.
            _endReason = "timed out";
            await TrySayGoodbyeAsync("421 4.4.2 Idle timeout, closing connection\r\n"u8.ToArray()).ConfigureAwait(false);
        }
        catch (IOException)
        {
            _endReason = "connection lost";
        }
        catch (Exception ex) when (ex is not OutOfMemoryException)
        {
            _endReason = "internal error";
            LmtpLog.SessionFailed(Logger, ex, Dialect, Id);
        }
        finally
        {
            await EndAsync().ConfigureAwait(false);
            await stoppingRegistration.DisposeAsync().ConfigureAwait(false);
            _ioTimeout.Dispose();
        }
    }

    private async Task ProcessAsync(CancellationToken stopping)
    {
        while (true)
        {
            var read = await _input.ReadAsync(_ioTimeout.Arm(ReadTimeout())).ConfigureAwait(false);
            DisarmTimer();

            var buffer = read.Buffer;
            var outcome = SessionOutcome.Continue;
            while (outcome == SessionOutcome.Continue)
            {
                if (_data is not null)
                {
                    var step = _data.Consume(ref buffer);
                    if (step == DataReception.Step.NeedMoreData) break;
                    if (step == DataReception.Step.SpoolFull)
                    {
                        await FlushSpoolAsync(_data, stopping).ConfigureAwait(false);
                        continue;
                    }
                    outcome = await FinishDataAsync().ConfigureAwait(false);
                    continue;
                }

                if (_discardingLongLine)
                {
                    if (!LineReader.TrySkipPastLineEnd(ref buffer)) break;
                    _discardingLongLine = false;
                }
                var status = LineReader.TryTakeLine(ref buffer, LmtpLimits.MaxLine, out var line);
                if (status == LineStatus.NeedMoreData) break;
                if (status == LineStatus.TooLong)
                {
                    // Answer once, then drop everything up to the line end (RFC 5321 §4.5.3.1.4/6).
                    _discardingLongLine = true;
                    outcome = Refuse(new SmtpReply(500, "5.5.2", "Line too long"));
                }
                else
                {
                    outcome = await ExecuteLineAsync(line, stopping).ConfigureAwait(false);
                    if (outcome == SessionOutcome.Continue && !_rejectedThisCommand) _consecutiveErrors = 0;
                }
                // Replies to pipelined commands go out before more commands run (see PendingOutput).
                if (PendingOutput.IsOverLimit(_output) && !await FlushAsync().ConfigureAwait(false)) return;
                if (outcome == SessionOutcome.Continue && _consecutiveErrors >= _server.Limits.MaxBadCommands)
                {
                    SmtpReply.Write(_output, 421, "4.7.0", "Too many errors, closing connection", last: true);
                    _endReason = "too many bad commands";
                    outcome = SessionOutcome.Close;
                }
            }

            _input.AdvanceTo(buffer.Start, buffer.End);
            if (!await FlushAsync().ConfigureAwait(false)) return;
            if (outcome == SessionOutcome.Close) return;
            if (read.IsCompleted)
            {
                if (_data is not null) _endReason = "client disconnected mid-DATA";
                return;
            }
        }
    }

    private async ValueTask<SessionOutcome> ExecuteLineAsync(ReadOnlySequence<byte> line, CancellationToken stopping)
    {
        _rejectedThisCommand = false;
        // Lines are at most 1000 octets; one copy lets commands await safely.
        var bytes = line.ToArray();
        var verb = SmtpCommandParser.Parse(bytes, out var range);
        var (offset, length) = range.GetOffsetAndLength(bytes.Length);
        var arguments = new ReadOnlyMemory<byte>(bytes, offset, length);

        SessionOutcome outcome;
        if (!SmtpStateTable.Knows(Dialect, verb))
            outcome = Refuse(verb is SmtpVerb.Lhlo or SmtpVerb.Ehlo or SmtpVerb.Helo
                ? new SmtpReply(500, "5.5.1", Dialect == DeliveryDialect.Lmtp ? "This is LMTP: use LHLO (RFC 2033)" : "This is SMTP: use EHLO")
                : new SmtpReply(500, "5.5.1", "Command unrecognized"));
        else if (SmtpStateTable.Refusal(State, verb, Dialect) is { } refusal)
            outcome = Refuse(refusal);
        else
            outcome = await SmtpCommands.For(verb).ExecuteAsync(this, arguments, stopping).ConfigureAwait(false);

        if (Logger.IsEnabled(LogLevel.Debug))
        {
            if (verb == SmtpVerb.Unknown) LmtpLog.UnknownCommand(Logger, bytes.Length, _lastReplyCode);
            else LmtpLog.Command(Logger, verb.ToString().ToUpperInvariant(), arguments.IsEmpty ? "" : LogText.Of(arguments.Span, LogText.AddressLimit), _lastReplyCode);
        }
        return outcome;
    }

    /// <summary>Writes a reply (not flushed).</summary>
    internal void Reply(SmtpReply reply)
    {
        _lastReplyCode = reply.Code;
        reply.WriteTo(_output);
    }

    /// <summary>Writes an error reply and counts it toward <see cref="LmtpLimits.MaxBadCommands"/>.</summary>
    internal ValueTask<SessionOutcome> RejectAsync(SmtpReply reply) => ValueTask.FromResult(Refuse(reply));

    private SessionOutcome Refuse(SmtpReply reply)
    {
        Reply(reply);
        _rejectedThisCommand = true;
        _consecutiveErrors++;
        return SessionOutcome.Continue;
    }

    internal void Greet(string clientName)
    {
        ClientName = clientName;
        // RFC 5321 §4.1.4: a greeting in the middle of a transaction resets it, like RSET.
        Transaction = null;
        State = SmtpState.Ready;
    }

    internal void StartTransaction(string sender, long declaredSize)
    {
        Transaction = new MailTransaction(sender, declaredSize);
        State = SmtpState.Mail;
    }

    internal void ResetTransaction()
    {
        Transaction = null;
        if (State == SmtpState.Mail) State = SmtpState.Ready;
    }

    internal void BeginData(MessageSpool spool)
    {
        _data = new DataReception(spool, _server.Delivery.Options.MaxMessageSize);
        _dataStartedAt = _server.TimeProvider.GetTimestamp();
    }

    /// <summary>Between commands the idle timeout; inside DATA no more than what is left of <see cref="LmtpLimits.DataTimeout"/>.</summary>
    private TimeSpan ReadTimeout()
    {
        var idle = _server.Limits.IdleTimeout;
        _armedForDataLimit = false;
        if (_data is null) return idle;
        var left = _server.Limits.DataTimeout - _server.TimeProvider.GetElapsedTime(_dataStartedAt);
        if (left >= idle) return idle;
        _armedForDataLimit = true;
        return left > TimeSpan.Zero ? left : TimeSpan.FromTicks(1);
    }


    internal void SetEndReason(string reason) => _endReason = reason;

    /// <summary>
    /// The final "." has arrived: deliver a copy per recipient and reply. Deliveries run to the end
    /// even when the server is stopping, like POP3's UPDATE: the client has sent everything, and a
    /// half-done transaction would make it send the message again to recipients who have it.
    /// </summary>
    private async ValueTask<SessionOutcome> FinishDataAsync()
    {
        var data = _data!;
        var transaction = Transaction!;
        _data = null;
        _transactions++;
        var queueId = Convert.ToHexString(RandomNumberGenerator.GetBytes(6));
        using (data)
        {
            if (data.Problem == DataProblem.None) await FlushSpoolAsync(data, CancellationToken.None).ConfigureAwait(false);
            if (data.Problem != DataProblem.None)
            {
                LmtpLog.DataRefused(Logger, queueId, LogText.Address(transaction.Sender), data.Problem, data.Size);
                var refusal = DeliveryReplies.For(data.Problem);
                // RFC 2033 §4.2: one reply per accepted recipient, even when all say the same.
                var count = Dialect == DeliveryDialect.Lmtp ? transaction.Recipients.Count : 1;
                for (var i = 0; i < count; i++) Reply(refusal);
            }
            else
            {
                var envelope = new DeliveryEnvelope(transaction.Sender, queueId, Dialect == DeliveryDialect.Lmtp ? "LMTP" : "ESMTP",
                    ClientName, PeerText(), data.MessageId);
                if (Dialect == DeliveryDialect.Lmtp) await DeliverPerRecipientAsync(transaction, envelope, data.Spool).ConfigureAwait(false);
                else await DeliverWithOneReplyAsync(transaction, envelope, data.Spool).ConfigureAwait(false);
            }
        }
        ResetTransaction();
        return SessionOutcome.Continue;
    }

    private async ValueTask FlushSpoolAsync(DataReception data, CancellationToken cancellationToken)
    {
        try
        {
            await data.Spool.FlushAsync(cancellationToken).ConfigureAwait(false);
        }
        catch (IOException ex)
        {
            LmtpLog.SpoolFailed(Logger, ex);
            data.SpoolFailed();
        }
    }

    private async Task DeliverPerRecipientAsync(MailTransaction transaction, DeliveryEnvelope envelope, MessageSpool spool)
    {
        foreach (var recipient in transaction.Recipients)
        {
            var result = await _server.Delivery.DeliverAsync(recipient, envelope, spool, CancellationToken.None).ConfigureAwait(false);
            Reply(DeliveryReplies.ForDelivery(result.Status, recipient.Address, result.Uid));
        }
    }

    /// <summary>
    /// SMTP has one reply for all recipients. All delivered: 250. None: the first failure, so a
    /// temporary one makes the client retry. Some: 250, and the failures are logged.
    /// REVIEW: a real MTA would bounce the failed part; this listener exists for application tests,
    /// and quota and unknown users are already refused at RCPT, so only a disk failure lands here.
    /// </summary>
    private async Task DeliverWithOneReplyAsync(MailTransaction transaction, DeliveryEnvelope envelope, MessageSpool spool)
    {
        var failures = new List<(LocalRecipient Recipient, SmtpReply Reply)>();
        foreach (var recipient in transaction.Recipients)
        {
            var result = await _server.Delivery.DeliverAsync(recipient, envelope, spool, CancellationToken.None).ConfigureAwait(false);
            if (result.Status != DeliveryStatus.Delivered)
                failures.Add((recipient, DeliveryReplies.ForDelivery(result.Status, recipient.Address, null)));
        }
        if (failures.Count == transaction.Recipients.Count)
        {
            Reply(failures[0].Reply);
            return;
        }
        foreach (var (recipient, reply) in failures) LmtpLog.PartialFailure(Logger, envelope.QueueId, LogText.Address(recipient.Address), $"{reply.Code} {reply.Enhanced}");
        Reply(new SmtpReply(250, "2.0.0", $"Ok: queued as {envelope.QueueId}"));
    }

    private string? PeerText() => RemoteEndPoint switch
    {
        IPEndPoint ip => $"[{ip.Address}]",
        null => null,
        var other => other.ToString() is { Length: > 0 } text ? text : "local socket",
    };

    /// <summary>Flushes with the write timeout armed; false when the client is gone.</summary>
    private async ValueTask<bool> FlushAsync()
    {
        _armedForDataLimit = false;
        var result = await _output.FlushAsync(_ioTimeout.Arm(_server.Limits.WriteTimeout)).ConfigureAwait(false);
        DisarmTimer();
        return !result.IsCompleted && !result.IsCanceled;
    }

    private void DisarmTimer() => _ioTimeout.Disarm();

    private ValueTask TrySayGoodbyeAsync(byte[] line) => PeerGoodbye.TrySendAsync(_transport, line);

    private async ValueTask EndAsync()
    {
        if (_data is { } data)
        {
            // Mid-DATA: the spool is unlinked already; closing it leaves no trace, and nothing
            // was put in any mailbox.
            LmtpLog.DataAbandoned(Logger, LogText.Address(Transaction?.Sender), data.Size, _endReason);
            data.Dispose();
            _data = null;
        }
        LmtpLog.Ended(Logger, Dialect, Id, _endReason, _transactions);
        await _input.CompleteAsync().ConfigureAwait(false);
        try
        {
            await PendingOutput.DiscardAsync(_output).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is IOException or OperationCanceledException or ObjectDisposedException)
        {
            // Flushing leftovers to a vanished peer: nothing to do.
        }
    }
}
