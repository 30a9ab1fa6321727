using MailKit.Net.Pop3;
using MailKit.Security;
using Restante.Testing;

namespace Restante.Tests.Interop;

/// <summary>MailKit's Pop3Client is what many .NET applications use: it must work unmodified. Runs on the test kit, as an application's tests would.</summary>
public class MailKitTests
{
    [Fact]
    public async Task MailKit_lists_downloads_and_deletes()
    {
        await using var server = await Pop3TestServer.StartAsync(o => o.AddUser("carol", "pa55word",
            "From: x@example.com\nTo: carol@example.com\nSubject: First\n\n.leading dot\nbody\n",
            "From: y@example.com\nSubject: Second\n\nsecond body\n"));

        using (var client = new Pop3Client())
        {
            await client.ConnectAsync("127.0.0.1", server.Pop3EndPoint.Port, SecureSocketOptions.None);
            Assert.True(client.Capabilities.HasFlag(Pop3Capabilities.Pipelining));
            Assert.True(client.Capabilities.HasFlag(Pop3Capabilities.UIDL));
            Assert.True(client.Capabilities.HasFlag(Pop3Capabilities.Top));
            await client.AuthenticateAsync("carol", "pa55word");
            Assert.Equal(2, client.Count);
            var sizes = await client.GetMessageSizesAsync();
            var uids = await client.GetMessageUidsAsync();
            Assert.Equal(2, uids.Distinct().Count());

            var first = await client.GetMessageAsync(0);
            Assert.Equal("First", first.Subject);
            Assert.StartsWith(".leading dot\r\nbody", first.TextBody!.Replace("\r\n", "\n").Replace("\n", "\r\n"), StringComparison.Ordinal);
            using (var raw = await client.GetStreamAsync(1))
            {
                Assert.Equal(sizes[1], raw.Length);
            }
            var headers = await client.GetMessageHeadersAsync(1);
            Assert.Equal("Second", headers["Subject"]);

            await client.DeleteMessageAsync(0);
            await client.DisconnectAsync(quit: true);
        }

        using (var client = new Pop3Client())
        {
            await client.ConnectAsync("127.0.0.1", server.Pop3EndPoint.Port, SecureSocketOptions.None);
            await client.AuthenticateAsync("carol", "pa55word");
            Assert.Equal(1, client.Count);
            Assert.Equal("Second", (await client.GetMessageAsync(0)).Subject);
            await client.DisconnectAsync(quit: true);
        }
    }

    [Fact]
    public async Task MailKit_reports_a_wrong_password_as_an_authentication_failure()
    {
        await using var server = await Pop3TestServer.StartAsync(o => o.AddUser("carol", "pa55word"));
        using var client = new Pop3Client();
        await client.ConnectAsync("127.0.0.1", server.Pop3EndPoint.Port, SecureSocketOptions.None);
        await Assert.ThrowsAsync<AuthenticationException>(() => client.AuthenticateAsync("carol", "nope"));
    }
}
