using Microsoft.Extensions.Logging;

namespace Restante.Pop3;

internal static partial class Pop3Log
{
    [LoggerMessage(170, LogLevel.Error, "The mailbox of {User} was not let go cleanly at QUIT (its lock may linger until the store notices); the client was answered for what QUIT did", EventName = "QuitReleaseFailed")]
    public static partial void QuitReleaseFailed(ILogger logger, Exception exception, string user);
}
