using Microsoft.Extensions.Logging;

namespace Restante.Pop3;

internal static partial class Pop3Log
{
    [LoggerMessage(160, LogLevel.Debug, "RETR sent {Octets} octets with sendfile", EventName = "SentWithSendfile")]
    public static partial void SentWithSendfile(ILogger logger, long octets);
}
