using System.Net;
using Restante.Pop3;

namespace Restante.Admin;

/// <summary>A running POP3 session as the administrator sees it. Properties are read while the session runs on.</summary>
public sealed class LiveSession
{
    private readonly Pop3Session _session;
    private readonly TaskCompletionSource _ended = new(TaskCreationOptions.RunContinuationsAsynchronously);

    internal LiveSession(Pop3Session session, DateTimeOffset since)
    {
        _session = session;
        Since = since;
    }

    public long Id => _session.Id;

    /// <summary>The logged-in user; null before login.</summary>
    public string? User => _session.User;

    public EndPoint? Peer => _session.RemoteEndPoint;

    public DateTimeOffset Since { get; }

    public Pop3State State => _session.State;

    public bool IsSecure => _session.IsSecure;

    public long BytesSent => _session.BytesSent;

    /// <summary>Completes once the session has ended and its mailbox lock is released.</summary>
    public Task Ended => _ended.Task;

    /// <summary>
    /// Ends the session without entering UPDATE, so nothing is deleted (RFC 1939 §6: only QUIT in
    /// TRANSACTION removes messages): the client is told with a final -ERR if it still listens.
    /// </summary>
    public void Kick() => _session.Kick();

    internal void MarkEnded() => _ended.TrySetResult();
}
