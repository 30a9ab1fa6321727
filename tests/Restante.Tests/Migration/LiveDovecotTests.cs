using MailKit.Net.Pop3;
using MailKit.Security;
using Restante.Tests.Infrastructure;

namespace Restante.Tests.Migration;

/// <summary>
/// A real Dovecot started by the test serves a Maildir and writes its dovecot-uidlist; then
/// Restante, pointed at the same Maildir with UidlSource=dovecot, must serve what Dovecot served.
/// </summary>
public class LiveDovecotTests
{
    [SkippableTheory]
    [InlineData("%08Xu%08Xv")]
    [InlineData("%v.%u")]
    [InlineData("%f")]
    public async Task Restante_serves_the_UIDLs_a_running_Dovecot_served(string format)
    {
        Skip.If(DovecotServer.MissingReason is not null, DovecotServer.MissingReason);
        await using var restante = await TestServer.StartAsync(configureServer: o =>
        {
            o.UidlSource = "dovecot";
            o.DovecotUidlFormat = format;
        });
        restante.AddUser("alice", "secret");
        for (var i = 0; i < 6; i++)
            restante.Deliver("alice", $"From: sender{i}@example.com\nSubject: message {i}\n\nbody {i}\n" + new string('x', i * 37) + "\n", 1_700_000_000 + i);

        List<string> dovecotUids;
        List<int> dovecotSizes;
        await using (var dovecot = await DovecotServer.StartAsync(Path.Combine(restante.Data.Path, "dovecot"), Path.Combine(restante.Data.Path, "mail"),
            new Dictionary<string, string> { ["alice"] = "secret" }, format))
        {
            (dovecotUids, dovecotSizes) = await FetchAsync(dovecot.Port);
        }
        Assert.Equal(6, dovecotUids.Count);
        Assert.True(File.Exists(Path.Combine(restante.MaildirOf("alice"), "dovecot-uidlist")));

        var (uids, sizes) = await FetchAsync(restante.Port);

        Assert.Equal(dovecotUids, uids);
        Assert.Equal(dovecotSizes, sizes);
    }

    internal static async Task<(List<string> Uids, List<int> Sizes)> FetchAsync(int port)
    {
        using var client = new Pop3Client();
        await client.ConnectAsync("127.0.0.1", port, SecureSocketOptions.None);
        await client.AuthenticateAsync("alice", "secret");
        var uids = (await client.GetMessageUidsAsync()).ToList();
        var sizes = (await client.GetMessageSizesAsync()).ToList();
        await client.DisconnectAsync(quit: true);
        return (uids, sizes);
    }
}
