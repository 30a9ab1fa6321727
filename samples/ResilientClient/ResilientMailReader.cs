using MailKit;
using MailKit.Net.Pop3;
using MailKit.Security;
using MimeKit;

namespace ResilientClient;

/// <summary>
/// Reads and deletes every message of a mailbox, surviving the failures real POP3 servers show:
/// <list type="bullet">
/// <item>a login refused with <c>[IN-USE]</c> (another client holds the mailbox, RFC 2449 §8.1.2) or
/// <c>[SYS/TEMP]</c> (RFC 3206 §4) is retried after a pause; <c>[AUTH]</c> is not: the password is wrong;</item>
/// <item>a connection lost mid-RETR is reopened and the reading resumes: messages already handled are
/// recognised by their UIDL and only deleted, never handled twice.</item>
/// </list>
/// </summary>
public sealed class ResilientMailReader(string host, int port, string user, string password)
{
    private readonly HashSet<string> _handled = new(StringComparer.Ordinal);
    private readonly ResponseCodeWatcher _codes = new();

    public int MaxAttempts { get; init; } = 5;

    public TimeSpan RetryDelay { get; init; } = TimeSpan.FromMilliseconds(200);

    /// <summary>How many connections it took, for the curious (and the tests).</summary>
    public int Attempts { get; private set; }

    public async Task<IReadOnlyList<MimeMessage>> ReadAllAsync(CancellationToken cancellationToken = default)
    {
        var read = new List<MimeMessage>();
        for (Attempts = 1; ; Attempts++)
        {
            try
            {
                await ReadOnceAsync(read, cancellationToken);
                return read;
            }
            catch (Exception ex) when (Attempts < MaxAttempts && IsWorthRetrying(ex, _codes.LastCode))
            {
                await Task.Delay(RetryDelay * Attempts, cancellationToken);
            }
        }
    }

    private async Task ReadOnceAsync(List<MimeMessage> read, CancellationToken cancellationToken)
    {
        using var pop3 = new Pop3Client(_codes);
        await pop3.ConnectAsync(host, port, SecureSocketOptions.None, cancellationToken);
        await pop3.AuthenticateAsync(user, password, cancellationToken);
        var uids = await pop3.GetMessageUidsAsync(cancellationToken);
        for (var i = 0; i < uids.Count; i++)
        {
            if (!_handled.Contains(uids[i]))
            {
                read.Add(await pop3.GetMessageAsync(i, cancellationToken));
                _handled.Add(uids[i]);
            }
            await pop3.DeleteMessageAsync(i, cancellationToken);
        }
        await pop3.DisconnectAsync(quit: true, cancellationToken);
    }

    /// <summary>Temporary refusals and lost connections are; wrong credentials and protocol violations are not.</summary>
    private static bool IsWorthRetrying(Exception ex, string? lastCode) => ex switch
    {
        AuthenticationException or Pop3CommandException => lastCode is "IN-USE" or "SYS/TEMP" or "LOGIN-DELAY",
        Pop3ProtocolException or IOException or ServiceNotConnectedException => true,
        _ => false,
    };
}
