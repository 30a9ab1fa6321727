using Microsoft.Extensions.Logging;

namespace Restante.Admin;

/// <summary>The control socket's log lines, with stable event ids.</summary>
internal static partial class AdminLog
{
    [LoggerMessage(700, LogLevel.Information, "Control socket listening on {Path} (mode 0600; the server's user and root only)", EventName = "AdminListening")]
    public static partial void Listening(ILogger logger, string path);

    [LoggerMessage(701, LogLevel.Warning, "Replaced the control socket {Path} left by a server that did not shut down cleanly", EventName = "AdminStaleSocketReplaced")]
    public static partial void StaleSocketReplaced(ILogger logger, string path);

    [LoggerMessage(702, LogLevel.Warning, "Refused a control socket connection from uid {Uid} (pid {Pid}): only uid {ServerUid} and root may administer this server", EventName = "AdminPeerRefused")]
    public static partial void PeerRefused(ILogger logger, uint uid, int pid, uint serverUid);

    [LoggerMessage(703, LogLevel.Information, "Admin request {Command} from uid {Uid} (pid {Pid})", EventName = "AdminRequest")]
    public static partial void Request(ILogger logger, string command, uint uid, int pid);

    [LoggerMessage(704, LogLevel.Warning, "Session {SessionId} of {User} from {Peer} kicked by uid {Uid} (pid {Pid}); nothing deleted", EventName = "AdminKicked")]
    public static partial void Kicked(ILogger logger, long sessionId, string user, string? peer, uint uid, int pid);

    [LoggerMessage(705, LogLevel.Information, "Login throttle state of {Address} cleared by uid {Uid} (pid {Pid})", EventName = "AdminThrottleCleared")]
    public static partial void ThrottleCleared(ILogger logger, string address, uint uid, int pid);

    [LoggerMessage(706, LogLevel.Information, "Closed a control socket connection: {Reason}", EventName = "AdminConnectionClosed")]
    public static partial void ConnectionClosed(ILogger logger, string reason);

    [LoggerMessage(707, LogLevel.Error, "Admin request {Command} failed", EventName = "AdminRequestFailed")]
    public static partial void RequestFailed(ILogger logger, Exception exception, string command);

    [LoggerMessage(708, LogLevel.Warning, "No control socket: {Reason}", EventName = "AdminUnavailable")]
    public static partial void Unavailable(ILogger logger, string reason);
}
