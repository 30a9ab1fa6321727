using System.Text;
using MailKit;

namespace ResilientClient;

/// <summary>
/// Remembers the last extended response code the server sent ("IN-USE", "SYS/TEMP", RFC 2449 §8). MailKit turns
/// every failed login into the same AuthenticationException("Authentication failed."), so the code that says
/// whether to retry is only visible on the wire; MailKit's protocol logger hook is where a client can see it.
/// </summary>
internal sealed class ResponseCodeWatcher : IProtocolLogger
{
    public string? LastCode { get; private set; }

    public IAuthenticationSecretDetector? AuthenticationSecretDetector { get; set; }

    public void LogConnect(Uri uri) => LastCode = null;

    public void LogClient(byte[] buffer, int offset, int count)
    {
    }

    public void LogServer(byte[] buffer, int offset, int count)
    {
        var text = Encoding.ASCII.GetString(buffer, offset, count);
        foreach (var line in text.Split('\n'))
        {
            if (!line.StartsWith("-ERR [", StringComparison.Ordinal)) continue;
            var end = line.IndexOf(']', StringComparison.Ordinal);
            if (end > 6) LastCode = line[6..end];
        }
    }

    public void Dispose()
    {
    }
}
