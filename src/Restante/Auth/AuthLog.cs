using Microsoft.Extensions.Logging;

namespace Restante.Auth;

/// <summary>Log messages of the Auth layer; ids 300–399 are reserved for it. No message takes a secret.</summary>
internal static partial class AuthLog
{
    [LoggerMessage(300, LogLevel.Information, "Loaded {Count} users from {Path}", EventName = "PasswdLoaded")]
    public static partial void PasswdLoaded(ILogger logger, int count, string path);

    [LoggerMessage(301, LogLevel.Warning, "Password file {Path} does not exist; no user can log in", EventName = "PasswdMissing")]
    public static partial void PasswdMissing(ILogger logger, string path);

    [LoggerMessage(302, LogLevel.Error, "Password file not reloaded, keeping the previous {Count} users: {Reason}", EventName = "PasswdReloadFailed")]
    public static partial void PasswdReloadFailed(ILogger logger, int count, string reason, Exception? exception);
}
