using MailPolling;

// Usage: MailPolling HOST SMTP-PORT POP3-PORT USER PASSWORD
// Sends one order confirmation to USER, then polls the mailbox once and prints what it read.
if (args.Length != 5)
{
    Console.Error.WriteLine("usage: MailPolling HOST SMTP-PORT POP3-PORT USER PASSWORD");
    return 2;
}
var settings = new MailServerSettings(args[0], int.Parse(args[1], System.Globalization.CultureInfo.InvariantCulture),
    int.Parse(args[2], System.Globalization.CultureInfo.InvariantCulture), args[3], args[4]);
await new OrderMailer(settings).SendConfirmationAsync("42", $"{settings.User}@example.com");
var read = await new InboxWorker(settings, (message, _) =>
{
    Console.WriteLine(message.Subject);
    return Task.CompletedTask;
}).PollOnceAsync();
Console.WriteLine($"{read} message(s) handled");
return 0;
