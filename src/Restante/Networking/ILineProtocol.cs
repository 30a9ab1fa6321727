using System.Buffers;

namespace Restante.Networking;

/// <summary>
/// A line protocol (POP3, LMTP/SMTP) as <see cref="LineConnection"/> drives it: "handle this line in this state",
/// its limits, and its texts. It writes replies into <see cref="LineConnection.Output"/> and never flushes them;
/// the connection owns the bytes, TLS, deadlines, framing and the goodbye.
/// </summary>
internal interface ILineProtocol
{
    /// <summary>The session starts (on the connection's own flow: a log scope begun here covers all of it).</summary>
    void Begin();

    /// <summary>The session is over and its transport closed: undo what <see cref="Begin"/> did.</summary>
    void Finished();

    /// <summary>The longest command line read at all, line end included; a longer one is answered once and skipped.</summary>
    int LineLimit { get; }

    /// <summary>Bad commands in a row (rejected lines, overlong ones included) after which the connection is closed.</summary>
    int MaxBadCommands { get; }

    /// <summary>How long a flush may wait for a client that does not read.</summary>
    TimeSpan WriteTimeout { get; }

    /// <summary>How long the next read may wait (an idle timeout, or what is left of a login or DATA deadline).</summary>
    TimeSpan NextReadTimeout();

    /// <summary>Writes the greeting (after an implicit TLS handshake, if any); false ends the connection.</summary>
    ValueTask<bool> OpenAsync();

    /// <summary>Runs one command line (without its line end); the line is valid only until the first await.</summary>
    ValueTask<LineOutcome> ExecuteLineAsync(ReadOnlySequence<byte> line, CancellationToken cancellationToken);

    /// <summary>The reply to a line longer than <see cref="LineLimit"/>; the connection counts it as a bad command.</summary>
    void WriteLineTooLong();

    /// <summary>The last reply before the connection closes for <see cref="MaxBadCommands"/>.</summary>
    void WriteTooManyBadCommands();

    /// <summary>
    /// After <see cref="LineOutcome.StartTls"/> was flushed: upgrade with <see cref="LineConnection.HandshakeAsync"/>; false closes.
    /// Asked only of a protocol that returns that outcome (POP3's STLS); LMTP offers no STARTTLS and keeps this default.
    /// </summary>
    ValueTask<bool> StartTlsAsync(long discardedPlaintext) => throw new NotSupportedException();

    /// <summary>
    /// The session's cancellation fired (a deadline, a shutdown, or <see cref="LineConnection.CancelNow"/>): sets the
    /// end reason and returns the line to say goodbye with, or null to say nothing.
    /// </summary>
    byte[]? Interrupted(bool serverStopping);

    /// <summary>An unexpected exception ended the session (logged by the protocol).</summary>
    void Failed(Exception exception);

    /// <summary>The session is over: release what the protocol holds and log its summary. The transport is closed after.</summary>
    ValueTask EndAsync();

    /// <summary>A mode that consumes input other than command lines (DATA): takes what it can from <paramref name="input"/>.</summary>
    RawInput TakeRaw(ref ReadOnlySequence<byte> input) => RawInput.Lines;

    /// <summary>The awaitable part of raw input (<see cref="RawInput.Ready"/>).</summary>
    ValueTask<LineOutcome> ProcessRawAsync(CancellationToken cancellationToken) => throw new NotSupportedException();

    /// <summary>The session is about to wait for its peer; false: it must not (it was taken over).</summary>
    bool BeginWaiting() => true;

    /// <summary>The wait is over; false: what arrived must not run (taken over meanwhile).</summary>
    bool EndWaiting() => true;

    /// <summary>The peer closed its side and everything it sent has been handled.</summary>
    void InputEnded()
    {
    }
}
