using MailPolling;
using MimeKit;
using Restante.Testing;
using Restante.Testing.Xunit;

namespace Samples.Tests;

/// <summary>The application's mail round trip against one kit server shared by the class (xUnit fixture).</summary>
public sealed class MailPollingTests(MailPollingTests.Server mail) : IClassFixture<MailPollingTests.Server>
{
    public sealed class Server : Pop3ServerFixture
    {
        protected override void Configure(Pop3TestServerOptions options) => options.AddUser("orders", "pw").AddUser("flaky", "pw");
    }

    private MailServerSettings Settings(string user) => new("127.0.0.1", mail.Server.SmtpEndPoint.Port, mail.Server.Pop3EndPoint.Port, user, "pw");

    [Fact]
    public async Task Confirmation_sent_by_SMTP_is_read_by_the_worker_and_deleted()
    {
        await new OrderMailer(Settings("orders")).SendConfirmationAsync("42", "orders@example.com");
        var subjects = new List<string>();
        var worker = new InboxWorker(Settings("orders"), (message, _) =>
        {
            subjects.Add(message.Subject ?? string.Empty);
            return Task.CompletedTask;
        });

        Assert.Equal(1, await worker.PollOnceAsync());
        Assert.Equal(["Order 42 received"], subjects);
        Assert.True(mail.Server.Messages("orders").Count == 0, mail.Server.FormatTranscripts());
    }

    [Fact]
    public async Task A_message_whose_handler_fails_stays_for_the_next_poll()
    {
        await mail.Server.DeliverAsync("flaky", "Subject: first\r\n\r\n1\r\n");
        await mail.Server.DeliverAsync("flaky", "Subject: poison\r\n\r\n2\r\n");
        var worker = new InboxWorker(Settings("flaky"), (message, _) =>
            message.Subject == "poison" ? throw new InvalidOperationException("handler failed") : Task.CompletedTask);

        await Assert.ThrowsAsync<InvalidOperationException>(() => worker.PollOnceAsync());

        var left = Assert.Single(mail.Server.Messages("flaky"));
        Assert.Equal("poison", MimeMessage.Load(new MemoryStream(left)).Subject);
    }
}
