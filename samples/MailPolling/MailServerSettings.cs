namespace MailPolling;

/// <summary>Where the application's mail server is, as it would come from configuration.</summary>
public sealed record MailServerSettings(string Host, int SmtpPort, int Pop3Port, string User, string Password);
