using System.Collections.Concurrent;
using Restante.Pop3;
using Restante.Protocol;

namespace Restante.Testing;

/// <summary>The kit's side of the server's session seam: one transcript per session, and the armed faults.</summary>
internal sealed class KitSessionHooks(Pop3Faults faults) : IPop3SessionHooks
{
    private readonly ConcurrentDictionary<long, SessionState> _sessions = new();
    private readonly ConcurrentQueue<SessionTranscript> _transcripts = new();

    public IReadOnlyList<SessionTranscript> Transcripts => [.. _transcripts];

    public Stream OnTransport(Pop3Session session, Stream transport)
    {
        if (!_sessions.TryGetValue(session.Id, out var state))
        {
            var transcript = new SessionTranscript(session.Id, session.IsImplicitTls ? "POP3S" : "POP3");
            state = new SessionState(transcript);
            _sessions[session.Id] = state;
            _transcripts.Enqueue(transcript);
        }
        var rate = 0;
        if (state.Stream is { } below)
        {
            // TLS now runs over the old stream: record the plaintext above it instead of ciphertext.
            below.Recording = false;
            rate = below.BytesPerSecond;
            below.BytesPerSecond = 0;
            state.Transcript.Note("TLS established");
        }
        state.Stream = new RecordingStream(transport, state.Transcript) { BytesPerSecond = rate };
        return state.Stream;
    }

    public async ValueTask BeforeCommandAsync(Pop3Session session, string command, string? user, CancellationToken cancellationToken)
    {
        if (!_sessions.TryGetValue(session.Id, out var state) || user is null) return;
        if (state.User != user)
        {
            state.User = user;
            state.Transcript.User = user;
            if (faults.TakeThrottle(user) is { } rate && state.Stream is { } stream) stream.BytesPerSecond = rate;
        }
        var stall = faults.TakeStall(user, command);
        if (stall > TimeSpan.Zero)
        {
            state.Transcript.Note($"reply to {command} stalled {stall.TotalMilliseconds} ms by an injected fault");
            await Task.Delay(stall, cancellationToken).ConfigureAwait(false);
        }
    }

    public ResponseCode? OnLogin(Pop3Session session, string user)
    {
        if (faults.TakeLoginFailure(user) is not { } failure) return null;
        Note(session, $"login refused with [{Pop3Faults.Code(failure)}] by an injected fault");
        return failure switch
        {
            LoginFailure.InUse => ResponseCode.InUse,
            LoginFailure.LoginDelay => ResponseCode.LoginDelay,
            LoginFailure.SysTemp => ResponseCode.SysTemp,
            _ => ResponseCode.Auth,
        };
    }

    public long ListedSize(Pop3Session session, int messageNumber, long size) => faults.ListedSize(session.User, size);

    public Stream OnRetrieve(Pop3Session session, int messageNumber, Stream message)
    {
        // A message no longer than the mark would arrive whole: the fault is kept for one that breaks.
        if (session.User is not { } user || faults.PeekDrop(user) is not { } after) return message;
        if (message.CanSeek && message.Length - message.Position <= after) return message;
        if (faults.TakeDrop(user) is not { } taken) return message;
        Note(session, $"message {messageNumber} cut after {taken} octets by an injected fault");
        return new TruncatedMessageStream(message, taken);
    }

    public bool AllowStartTls(Pop3Session session)
    {
        if (!faults.TakeStlsDisconnect()) return true;
        Note(session, "disconnected on STLS by an injected fault");
        return false;
    }

    public void OnEnded(Pop3Session session, string reason)
    {
        if (_sessions.TryRemove(session.Id, out var state)) state.Transcript.End(reason);
    }

    private void Note(Pop3Session session, string text)
    {
        if (_sessions.TryGetValue(session.Id, out var state)) state.Transcript.Note(text);
    }

    private sealed class SessionState(SessionTranscript transcript)
    {
        public SessionTranscript Transcript { get; } = transcript;

        public RecordingStream? Stream { get; set; }

        public string? User { get; set; }
    }
}
