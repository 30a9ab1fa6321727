using Microsoft.Extensions.Logging;

namespace Restante.Pop3;

internal static partial class Pop3Log
{
    [LoggerMessage(160, LogLevel.Debug, "RETR sent {Octets} octets with sendfile", EventName = "SentWithSendfile")]
    public static partial void SentWithSendfile(ILogger logger, long octets);

    [LoggerMessage(161, LogLevel.Warning, "RETR with sendfile sent {Sent} of {Octets} octets: the file was cut short after it was opened; closing the session without ending the reply", EventName = "SendfileShort")]
    public static partial void SendfileShort(ILogger logger, long sent, long octets);
}
