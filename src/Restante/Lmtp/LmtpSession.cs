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
public sealed class LmtpSession : ILineProtocol
{
    private static long s_nextSessionId;

    // Shared (the options are immutable). A session waiting for its MTA's next command holds no 16 KiB read buffer:
    // the connection waits with a zero-byte read on the socket before the pipe reads (as for POP3).
    private static readonly StreamPipeReaderOptions s_readerOptions = new(bufferSize: 16 * 1024, minimumReadSize: 4096, leaveOpen: true);
    private static readonly StreamPipeWriterOptions s_writerOptions = new(minimumBufferSize: 4096, leaveOpen: true);

    private readonly LmtpServerContext _server;
    private readonly LineConnection _connection;
    private DataReception? _data;
    private DataReception.Step _dataStep;
    private int _transactions;
    private int _lastReplyCode;
    private long _dataStartedAt;
    // The read deadline last armed was the DATA time limit (not the idle timeout): decides the goodbye.
    private bool _armedForDataLimit;
    private IDisposable? _scope;

    public LmtpSession(LmtpServerContext server, DeliveryDialect dialect, Stream transport, EndPoint? remoteEndPoint)
    {
        _server = server;
        Dialect = dialect;
        RemoteEndPoint = remoteEndPoint;
        Id = Interlocked.Increment(ref s_nextSessionId);
        _connection = new LineConnection(transport, server.TimeProvider, s_readerOptions, s_writerOptions);
        Logger = server.Logger;
    }

    public long Id { get; }

    public DeliveryDialect Dialect { get; }

    public EndPoint? RemoteEndPoint { get; }

    public SmtpState State { get; private set; } = SmtpState.Connected;

    internal LmtpServerContext Server => _server;

    internal ILogger Logger { get; }

    internal PipeWriter Output => _connection.Output;

    /// <summary>The name given in LHLO/EHLO/HELO.</summary>
    internal string? ClientName { get; private set; }

    internal MailTransaction? Transaction { get; private set; }

    public Task RunAsync(CancellationToken stopping) => _connection.RunAsync(this, stopping);

    void ILineProtocol.Begin()
    {
        LmtpLog.Connected(Logger, Dialect, Id, RemoteEndPoint);
        _scope = Logger.BeginScope("{Protocol} session {SessionId} {Peer}", Dialect, Id, RemoteEndPoint);
    }

    void ILineProtocol.Finished() => _scope?.Dispose();

    int ILineProtocol.LineLimit => LmtpLimits.MaxLine;

    int ILineProtocol.MaxBadCommands => _server.Limits.MaxBadCommands;

    TimeSpan ILineProtocol.WriteTimeout => _server.Limits.WriteTimeout;

    ValueTask<bool> ILineProtocol.OpenAsync()
    {
        // RFC 5321 §4.2 / RFC 2033 §4: the greeting names the host and the protocol.
        SmtpReply.Write(Output, 220, "", $"{_server.Hostname} {(Dialect == DeliveryDialect.Lmtp ? "LMTP" : "ESMTP")} Restante ready", last: true);
        return ValueTask.FromResult(true);
    }

    byte[]? ILineProtocol.Interrupted(bool serverStopping)
    {
        if (serverStopping)
        {
            _connection.EndReason = "server shutting down";
            return "421 4.3.2 Server shutting down\r\n"u8.ToArray();
        }
        if (_armedForDataLimit && _connection.LastArmedForRead)
        {
            _connection.EndReason = "DATA time limit reached";
            return "421 4.4.2 DATA took too long, closing connection\r\n"u8.ToArray();
        }
        // RFC 5321 §4.5.3.2: on a timeout the server closes, preferably after a 421.
        _connection.EndReason = "timed out";
        return "421 4.4.2 Idle timeout, closing connection\r\n"u8.ToArray();
    }

    void ILineProtocol.Failed(Exception exception) => LmtpLog.SessionFailed(Logger, exception, Dialect, Id);

    void ILineProtocol.WriteLineTooLong() => Reply(new SmtpReply(500, "5.5.2", "Line too long"));   // RFC 5321 §4.5.3.1.4/6

    void ILineProtocol.WriteTooManyBadCommands() => SmtpReply.Write(Output, 421, "4.7.0", "Too many errors, closing connection", last: true);

    RawInput ILineProtocol.TakeRaw(ref ReadOnlySequence<byte> input)
    {
        if (_data is null) return RawInput.Lines;
        _dataStep = _data.Consume(ref input);
        return _dataStep == DataReception.Step.NeedMoreData ? RawInput.NeedMoreData : RawInput.Ready;
    }

    async ValueTask<LineOutcome> ILineProtocol.ProcessRawAsync(CancellationToken cancellationToken)
    {
        if (_dataStep == DataReception.Step.SpoolFull)
        {
            await FlushSpoolAsync(_data!, cancellationToken).ConfigureAwait(false);
            return LineOutcome.Continue;
        }
        return await FinishDataAsync().ConfigureAwait(false);
    }

    void ILineProtocol.InputEnded()
    {
        if (_data is not null) _connection.EndReason = "client disconnected mid-DATA";
    }

    ValueTask<LineOutcome> ILineProtocol.ExecuteLineAsync(ReadOnlySequence<byte> line, CancellationToken cancellationToken)
        => ExecuteLineAsync(line, cancellationToken);

    private async ValueTask<LineOutcome> ExecuteLineAsync(ReadOnlySequence<byte> line, CancellationToken stopping)
    {
        // Lines are at most 1000 octets; one copy lets commands await safely.
        var bytes = line.ToArray();
        var verb = SmtpCommandParser.Parse(bytes, out var range);
        var (offset, length) = range.GetOffsetAndLength(bytes.Length);
        var arguments = new ReadOnlyMemory<byte>(bytes, offset, length);

        LineOutcome outcome;
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
        reply.WriteTo(Output);
    }

    /// <summary>Writes an error reply and counts it toward <see cref="LmtpLimits.MaxBadCommands"/>.</summary>
    internal ValueTask<LineOutcome> RejectAsync(SmtpReply reply) => ValueTask.FromResult(Refuse(reply));

    private LineOutcome Refuse(SmtpReply reply)
    {
        Reply(reply);
        _connection.CountBadCommand();
        return LineOutcome.Continue;
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
    TimeSpan ILineProtocol.NextReadTimeout()
    {
        var idle = _server.Limits.IdleTimeout;
        _armedForDataLimit = false;
        if (_data is null) return idle;
        var left = _server.Limits.DataTimeout - _server.TimeProvider.GetElapsedTime(_dataStartedAt);
        if (left >= idle) return idle;
        _armedForDataLimit = true;
        return left > TimeSpan.Zero ? left : TimeSpan.FromTicks(1);
    }

    internal void SetEndReason(string reason) => _connection.EndReason = reason;

    /// <summary>
    /// The final "." has arrived: deliver a copy per recipient and reply. Deliveries run to the end
    /// even when the server is stopping, like POP3's UPDATE: the client has sent everything, and a
    /// half-done transaction would make it send the message again to recipients who have it.
    /// </summary>
    private async ValueTask<LineOutcome> FinishDataAsync()
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
        return LineOutcome.Continue;
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

    ValueTask ILineProtocol.EndAsync()
    {
        if (_data is { } data)
        {
            // Mid-DATA: the spool is unlinked already; closing it leaves no trace, and nothing
            // was put in any mailbox.
            LmtpLog.DataAbandoned(Logger, LogText.Address(Transaction?.Sender), data.Size, _connection.EndReason);
            data.Dispose();
            _data = null;
        }
        LmtpLog.Ended(Logger, Dialect, Id, _connection.EndReason, _transactions);
        return ValueTask.CompletedTask;
    }
}
