using System.Net;
using Microsoft.Extensions.Logging;

namespace Restante.Pop3;

/// <summary>Every log line the POP3 sessions write, with stable event ids. Secrets never reach these.</summary>
internal static partial class Pop3Log
{
    [LoggerMessage(100, LogLevel.Debug, "Session {SessionId} connected from {Peer}", EventName = "Connected")]
    public static partial void Connected(ILogger logger, long sessionId, EndPoint? peer);

    [LoggerMessage(101, LogLevel.Debug, "{Command} {Arguments} -> {Status}", EventName = "Command")]
    public static partial void Command(ILogger logger, string command, string arguments, string status);

    [LoggerMessage(102, LogLevel.Debug, "User {User} logged in with {Mechanism} ({Messages} messages, {Octets} octets)", EventName = "LoggedIn")]
    public static partial void LoggedIn(ILogger logger, string user, string mechanism, int messages, long octets);

    // The peer comes first, before any client text, so a fail2ban rule can anchor on it; the caller
    // escapes the user name and mechanism the client typed (LogText).
    [LoggerMessage(103, LogLevel.Warning, "Authentication failed from {Peer} for user {User} with {Mechanism}", EventName = "AuthFailed")]
    public static partial void AuthFailed(ILogger logger, EndPoint? peer, string user, string mechanism);

    [LoggerMessage(104, LogLevel.Information, "Mailbox of {User} is in use by another session", EventName = "InUse")]
    public static partial void InUse(ILogger logger, string user);

    // The one summary line per session. {End} is one of SessionEndReason's few words, {Reason} the detail;
    // {Tls} is "no" or the protocol ("TLSv1.3"); the caller escapes the user name (LogText).
    [LoggerMessage(105, LogLevel.Information, "Session {SessionId} ended: {Reason}; user {User} from {Peer} with {Mechanism}, TLS {Tls}, {Retrieved} retrieved, {Deleted} deleted, {BytesOut} octets sent, {DurationMs} ms, end {End}", EventName = "Ended")]
    public static partial void Ended(ILogger logger, long sessionId, string reason, string user, EndPoint? peer, string mechanism, string tls,
        int retrieved, int deleted, long bytesOut, long durationMs, string end);

    [LoggerMessage(106, LogLevel.Error, "Mail store failure for {User}", EventName = "StoreFailure")]
    public static partial void StoreFailure(ILogger logger, Exception exception, string user);

    [LoggerMessage(107, LogLevel.Error, "Only {Removed} of {Requested} messages of {User} could be removed at QUIT", EventName = "ExpungeIncomplete")]
    public static partial void ExpungeIncomplete(ILogger logger, string user, int removed, int requested);

    // An exception nothing expected is a bug to look at, not a client misbehaving.
    [LoggerMessage(108, LogLevel.Error, "Session {SessionId} failed", EventName = "SessionFailed")]
    public static partial void SessionFailed(ILogger logger, Exception exception, long sessionId);

    [LoggerMessage(109, LogLevel.Debug, "Session {SessionId} TLS established: {Protocol} {CipherSuite}", EventName = "TlsEstablished")]
    public static partial void TlsEstablished(ILogger logger, long sessionId, System.Security.Authentication.SslProtocols protocol, System.Net.Security.TlsCipherSuite cipherSuite);

    // Information, not Warning: scanners and outdated clients do this all day; fail2ban can still match it.
    [LoggerMessage(110, LogLevel.Information, "Session {SessionId} TLS handshake with {Peer} failed: {Reason}", EventName = "TlsFailed")]
    public static partial void TlsFailed(ILogger logger, long sessionId, EndPoint? peer, string reason);

    [LoggerMessage(111, LogLevel.Warning, "Discarded {Octets} octets sent in the clear after STLS, before the TLS handshake", EventName = "DiscardedAfterStls")]
    public static partial void DiscardedAfterStls(ILogger logger, long octets);

    // Only the length: an unrecognised line may be a mistyped command with a credential in it ("AUTH PLAN <base64>").
    [LoggerMessage(112, LogLevel.Debug, "Unknown command ({Octets} octets) -> -ERR", EventName = "UnknownCommand")]
    public static partial void UnknownCommand(ILogger logger, int octets);

    // The password check itself took longer than the fixed failure time (a flood, or a passwd line with a huge cost):
    // the answer then comes when it finishes, and the timing is no longer the same for everyone.
    [LoggerMessage(120, LogLevel.Warning, "A failed {Mechanism} login took {Elapsed} to check, longer than AuthFailureDelay ({Delay}); answered late", EventName = "FailureDelayExceeded")]
    public static partial void FailureDelayExceeded(ILogger logger, string mechanism, TimeSpan elapsed, TimeSpan delay);

    [LoggerMessage(121, LogLevel.Warning, "Password hashing is saturated ({Queued} waiting); a {Verb} login from {Peer} was refused without a check", EventName = "HashingSaturated")]
    public static partial void HashingSaturated(ILogger logger, int queued, string verb, EndPoint? peer);

    // 150-159: mailbox policies (RFC 2449 LOGIN-DELAY, EXPIRE).
    [LoggerMessage(150, LogLevel.Information, "Expired {Count} retrieved messages of {User} (EXPIRE {Expire})", EventName = "MessagesExpired")]
    public static partial void Expired(ILogger logger, string user, int count, string expire);

    [LoggerMessage(151, LogLevel.Information, "Refused a login of {User}: LOGIN-DELAY {Delay} not over since the last login", EventName = "LoginDelayed")]
    public static partial void LoginDelayed(ILogger logger, string user, TimeSpan delay);

    [LoggerMessage(152, LogLevel.Warning, "Policy field of {User} ignored: {Problem}", EventName = "PolicyFieldIgnored")]
    public static partial void PolicyFieldIgnored(ILogger logger, string user, string problem);
}
