using MailKit.Net.Smtp;
using MailKit.Security;
using MimeKit;

namespace MailPolling;

/// <summary>Sends the "order received" mail, the way an application would with MailKit.</summary>
public sealed class OrderMailer(MailServerSettings settings)
{
    public async Task SendConfirmationAsync(string orderId, string customer, CancellationToken cancellationToken = default)
    {
        var message = new MimeMessage();
        message.From.Add(new MailboxAddress("Shop", "shop@example.com"));
        message.To.Add(MailboxAddress.Parse(customer));
        message.Subject = $"Order {orderId} received";
        message.Body = new TextPart("plain") { Text = $"We received your order {orderId}.\n" };

        using var smtp = new SmtpClient();
        await smtp.ConnectAsync(settings.Host, settings.SmtpPort, SecureSocketOptions.None, cancellationToken);
        await smtp.SendAsync(message, cancellationToken);
        await smtp.DisconnectAsync(quit: true, cancellationToken);
    }
}
