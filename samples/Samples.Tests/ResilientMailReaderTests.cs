using Restante.Testing;
using ResilientClient;

namespace Samples.Tests;

/// <summary>The resilient reader against the faults it claims to survive; a new kit server per test (plain API).</summary>
public sealed class ResilientMailReaderTests
{
    private static async Task<Pop3TestServer> StartAsync()
        => await Pop3TestServer.StartAsync(o => o.AddUser("alice", "pw",
            "Subject: one\r\n\r\n1\r\n", "Subject: two\r\n\r\n" + new string('x', 5000) + "\r\n", "Subject: three\r\n\r\n3\r\n"));

    private static ResilientMailReader Reader(Pop3TestServer mail)
        => new("127.0.0.1", mail.Pop3EndPoint.Port, "alice", "pw") { RetryDelay = TimeSpan.FromMilliseconds(20) };

    [Theory]
    [InlineData(LoginFailure.InUse)]
    [InlineData(LoginFailure.SysTemp)]
    public async Task Retries_a_temporarily_refused_login(LoginFailure failure)
    {
        await using var mail = await StartAsync();
        // Enough refusals that MailKit's own fallback (APOP, SASL, USER/PASS) cannot hide them in one attempt.
        var fault = mail.Faults.RefuseLogin("alice", failure, times: 6);
        var reader = Reader(mail);

        var read = await reader.ReadAllAsync();

        Assert.Equal(["one", "two", "three"], read.Select(m => m.Subject));
        Assert.Equal(6, fault.Fired);
        Assert.True(reader.Attempts > 1, mail.FormatTranscripts());
        Assert.Empty(mail.Messages("alice"));
    }

    [Fact]
    public async Task Gives_up_on_wrong_credentials()
    {
        await using var mail = await StartAsync();
        var fault = mail.Faults.RefuseLogin("alice", LoginFailure.Auth, times: 100);
        var reader = Reader(mail);
        await Assert.ThrowsAsync<MailKit.Security.AuthenticationException>(() => reader.ReadAllAsync());
        Assert.Equal(1, reader.Attempts);
        Assert.True(fault.Fired >= 1);
    }

    [Fact]
    public async Task Resumes_after_a_dropped_RETR_without_handling_a_message_twice()
    {
        await using var mail = await StartAsync();
        // Message one is handled, then two (5 KB) breaks after 1000 octets. The second connection sees one again
        // (no QUIT, so no deletion) and must only delete it, then read two and three.
        var fault = mail.Faults.DropConnectionDuringRetr("alice", afterBytes: 1000);
        var reader = Reader(mail);

        var read = await reader.ReadAllAsync();

        Assert.Equal(1, fault.Fired);
        Assert.Equal(2, reader.Attempts);
        Assert.Equal(["one", "two", "three"], read.Select(m => m.Subject));
        Assert.Empty(mail.Messages("alice"));
    }

    [Fact]
    public async Task Survives_a_slow_link()
    {
        await using var mail = await StartAsync();
        var slow = mail.Faults.Throttle("alice", bytesPerSecond: 50_000);
        var read = await Reader(mail).ReadAllAsync();
        Assert.Equal(["one", "two", "three"], read.Select(m => m.Subject));
        Assert.Equal(1, slow.Fired);
        Assert.Equal(new string('x', 5000), read[1].TextBody!.TrimEnd());
    }
}
