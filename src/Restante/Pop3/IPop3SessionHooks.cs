using Restante.Protocol;

namespace Restante.Pop3;

/// <summary>
/// Points where a POP3 session lets an observer watch or bend it: the test kit (Restante.Testing)
/// records transcripts and injects the faults real servers show clients (a locked mailbox, a
/// dropped RETR, a slow link). A server has none by default: each point is one null check.
/// Every method has a default that changes nothing, so an implementation overrides only what it needs.
/// Methods are called on the session's own flow, never concurrently for one session.
/// </summary>
public interface IPop3SessionHooks
{
    /// <summary>
    /// The stream the session will read and write: called once at connect with the socket stream,
    /// and again after a TLS handshake (STLS or POP3S) with the TLS stream, <see cref="Pop3Session.IsSecure"/> then true.
    /// </summary>
    Stream OnTransport(Pop3Session session, Stream transport) => transport;

    /// <summary>Before a command runs, with its keyword in upper case ("RETR") and the user named so far (USER, or the logged-in one).</summary>
    ValueTask BeforeCommandAsync(Pop3Session session, string command, string? user, CancellationToken cancellationToken) => ValueTask.CompletedTask;

    /// <summary>
    /// A user whose credentials were accepted is about to enter TRANSACTION. A response code refuses the login
    /// with that code (<see cref="ResponseCode.InUse"/>, <see cref="ResponseCode.LoginDelay"/>, <see cref="ResponseCode.SysTemp"/>,
    /// <see cref="ResponseCode.SysPerm"/> or <see cref="ResponseCode.Auth"/>); null lets it proceed.
    /// </summary>
    ResponseCode? OnLogin(Pop3Session session, string user) => null;

    /// <summary>The size LIST reports for message <paramref name="messageNumber"/> (1-based), given its real size.</summary>
    long ListedSize(Pop3Session session, int messageNumber, long size) => size;

    /// <summary>The content RETR and TOP send for message <paramref name="messageNumber"/>; a stream that throws
    /// <see cref="IOException"/> makes the session hang up mid-message, as it does when a store read fails.</summary>
    Stream OnRetrieve(Pop3Session session, int messageNumber, Stream message) => message;

    /// <summary>STLS was accepted; false closes the connection instead of answering.</summary>
    bool AllowStartTls(Pop3Session session) => true;

    /// <summary>The session is over and its transport about to be released.</summary>
    void OnEnded(Pop3Session session, string reason)
    {
    }
}
