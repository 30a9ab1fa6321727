using MailKit.Net.Pop3;

namespace Restante.Testing.Tests;

public sealed class TranscriptTests
{
    [Fact]
    public async Task Both_directions_are_recorded_with_the_password_redacted()
    {
        await using var mail = await Pop3TestServer.StartAsync(o => o.AddUser("alice", "s3cret", "Subject: hi\r\n\r\nhi\r\n"));
        await using (var c = await mail.LoginAsync("alice", "s3cret"))
        {
            await c.SendAsync("STAT");
            await c.ExpectAsync("+OK 1");
            await c.SendAsync("QUIT");
            await c.ExpectAsync("+OK");
        }
        await Pop3TestServerTests.WaitUntilAsync(() => mail.Transcripts.Single().EndReason is not null);

        var transcript = mail.Transcripts.Single();
        Assert.Equal("alice", transcript.User);
        Assert.Equal("quit", transcript.EndReason);
        Assert.StartsWith("S: +OK Restante POP3 server ready.", transcript.Lines[0], StringComparison.Ordinal);
        Assert.Contains("C: USER alice", transcript.Lines);
        Assert.Contains("C: PASS <redacted>", transcript.Lines);
        Assert.Contains("C: STAT", transcript.Lines);
        Assert.Contains(transcript.Lines, l => l.StartsWith("S: +OK 1 ", StringComparison.Ordinal));
        Assert.DoesNotContain("s3cret", mail.FormatTranscripts(), StringComparison.Ordinal);
        Assert.Contains("== session", mail.FormatTranscripts(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task TLS_sessions_record_the_plaintext_and_APOP_is_redacted()
    {
        await using var mail = await Pop3TestServer.StartAsync(o => o.AddUser("alice", "s3cret"));
        using (var client = new Pop3Client { ServerCertificateValidationCallback = mail.TrustCertificate })
        {
            // STLS, then APOP: MailKit prefers it when the greeting carries a timestamp.
            await client.ConnectAsync("localhost", mail.Pop3EndPoint.Port, MailKit.Security.SecureSocketOptions.StartTls);
            await client.AuthenticateAsync("alice", "s3cret");
            await client.DisconnectAsync(quit: true);
        }
        await Pop3TestServerTests.WaitUntilAsync(() => mail.Transcripts.Single().EndReason is not null);
        var lines = mail.Transcripts.Single().Lines;
        Assert.Contains("C: STLS", lines);
        var afterTls = lines.SkipWhile(l => l != "-- TLS established").ToList();
        Assert.Contains("C: CAPA", afterTls);
        Assert.Contains("C: APOP alice <redacted>", afterTls);
        Assert.Contains("C: QUIT", afterTls);
    }

    [Fact]
    public async Task SASL_responses_are_redacted_inline_and_on_continuation_lines()
    {
        var initial = Convert.ToBase64String("\0alice\0s3cret"u8);
        await using var mail = await Pop3TestServer.StartAsync(o => o.AddUser("alice", "s3cret"));
        await using (var c = await mail.ConnectAsync())
        {
            await c.ExpectAsync("+OK");
            await c.SendAsync("AUTH PLAIN " + initial);
            await c.ExpectAsync("+OK");
        }
        await using (var c = await mail.ConnectAsync())
        {
            await c.ExpectAsync("+OK");
            await c.SendAsync("AUTH PLAIN");
            await c.ExpectAsync("+ ");
            await c.SendAsync(initial);
            await c.ExpectAsync("+OK");
            await c.SendAsync("NOOP");
            await c.ExpectAsync("+OK");
        }
        await Pop3TestServerTests.WaitUntilAsync(() => mail.Transcripts.All(t => t.EndReason is not null));
        Assert.Contains("C: AUTH PLAIN <redacted>", mail.Transcripts[0].Lines);
        Assert.Equal(["C: AUTH PLAIN", "S: + ", "C: <redacted>"], mail.Transcripts[1].Lines.Skip(1).Take(3));
        Assert.Contains("C: NOOP", mail.Transcripts[1].Lines);
        Assert.DoesNotContain(initial, mail.FormatTranscripts(), StringComparison.Ordinal);
    }
}
