using MailKit.Net.Pop3;
using MailKit.Security;
using MimeKit;

namespace MailPolling;

/// <summary>
/// Polls a POP3 mailbox: every message is handed to the handler, then deleted. Deletions take effect at QUIT
/// (RFC 1939 §6), so a message whose handler failed is left on the server for the next poll.
/// </summary>
public sealed class InboxWorker(MailServerSettings settings, Func<MimeMessage, CancellationToken, Task> handle)
{
    /// <summary>One poll; returns how many messages were handled.</summary>
    public async Task<int> PollOnceAsync(CancellationToken cancellationToken = default)
    {
        using var pop3 = new Pop3Client();
        await pop3.ConnectAsync(settings.Host, settings.Pop3Port, SecureSocketOptions.None, cancellationToken);
        await pop3.AuthenticateAsync(settings.User, settings.Password, cancellationToken);
        var handled = 0;
        try
        {
            for (var i = 0; i < pop3.Count; i++)
            {
                var message = await pop3.GetMessageAsync(i, cancellationToken);
                await handle(message, cancellationToken);
                await pop3.DeleteMessageAsync(i, cancellationToken);
                handled++;
            }
        }
        finally
        {
            // QUIT commits the deletions of the messages handled so far, even when a later one failed.
            await pop3.DisconnectAsync(quit: true, cancellationToken);
        }
        return handled;
    }

    /// <summary>Polls every <paramref name="interval"/> until cancelled.</summary>
    public async Task RunAsync(TimeSpan interval, CancellationToken cancellationToken)
    {
        using var timer = new PeriodicTimer(interval);
        do
        {
            await PollOnceAsync(cancellationToken);
        }
        while (await timer.WaitForNextTickAsync(cancellationToken));
    }
}
