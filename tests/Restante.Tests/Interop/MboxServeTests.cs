using System.Text;
using MailKit.Net.Pop3;
using Restante.Tests.Infrastructure;

namespace Restante.Tests.Interop;

/// <summary>`restante serve --store mbox` on a spool in the qpopper/popa3d layout, driven by MailKit and Python's poplib.</summary>
public class MboxServeTests
{
    // Written as Postfix local(8) writes a spool: From line, body with ">From " quoted, empty line.
    private const string Spool =
        "From a@example.org Thu Nov 26 10:00:00 2026\nSubject: one\n\n>From the start\n.leading dot\n\n" +
        "From b@example.org Thu Nov 26 10:00:01 2026\nSubject: two\n\nsecond\n\n" +
        "From c@example.org Thu Nov 26 10:00:02 2026\nX-UIDL: 0123456789abcdef0123456789abcdef\nSubject: three\n\nthird\n\n";

    private static readonly int[] Sizes = new[]
    {
        "Subject: one\r\n\r\nFrom the start\r\n.leading dot\r\n",
        "Subject: two\r\n\r\nsecond\r\n",
        "X-UIDL: 0123456789abcdef0123456789abcdef\r\nSubject: three\r\n\r\nthird\r\n",
    }.Select(Encoding.ASCII.GetByteCount).ToArray();

    private static async Task<(TempDirectory Data, string SpoolPath, Dictionary<string, string> Environment)> PrepareAsync(string uidl = "sidefile")
    {
        var data = new TempDirectory();
        await File.WriteAllTextAsync(Path.Combine(data.Path, "passwd"), "alice:{PLAIN}secret\n");
        var spools = Path.Combine(data.Path, "var-mail");
        Directory.CreateDirectory(spools);
        var spool = Path.Combine(spools, "alice");
        await File.WriteAllTextAsync(spool, Spool);
        return (data, spool, new Dictionary<string, string> { ["RESTANTE_MBOX__SPOOL"] = Path.Combine(spools, "%u"), ["RESTANTE_MBOX__UIDL"] = uidl });
    }

    [Fact]
    public async Task MailKit_lists_retrieves_and_deletes_while_lmtp_appends_and_uidls_survive_a_restart()
    {
        var (data, spoolPath, environment) = await PrepareAsync("x-uidl");
        using var _ = data;
        IList<string> uids;
        await using (var server = await ServerProcess.StartAsync(data.Path, null, environment, "--store", "mbox"))
        {
            using var client = new Pop3Client();
            await client.ConnectAsync("127.0.0.1", server.Port, MailKit.Security.SecureSocketOptions.None);
            await client.AuthenticateAsync("alice", "secret");
            Assert.Equal(3, client.Count);
            var sizes = await client.GetMessageSizesAsync();
            // Exact octets: CRLF line ends, the >From unquoted, the dot not counted twice.
            Assert.Equal(Sizes, sizes);
            uids = await client.GetMessageUidsAsync();
            Assert.Equal("0123456789abcdef0123456789abcdef", uids[2]);
            using (var stream = new MemoryStream())
            {
                (await client.GetMessageAsync(0)).WriteTo(stream);
                var text = Encoding.ASCII.GetString(stream.ToArray()).Replace("\r\n", "\n", StringComparison.Ordinal);
                Assert.Contains("\nFrom the start\n.leading dot\n", text, StringComparison.Ordinal);
            }

            // The MTA delivers while the session is open: LMTP appends to the spool under its locks.
            await using (var lmtp = await server.ConnectLmtpAsync())
            {
                await lmtp.ExpectAsync("220 ");
                await lmtp.SendAsync("LHLO client.example");
                await Lmtp.Lmtp.ReadReplyAsync(lmtp);
                await Lmtp.Lmtp.SendMessageAsync(lmtp, "s@example.org", "Subject: late\r\n\r\nFrom here on\r\n", "alice");
                await lmtp.ExpectAsync("250 2.0.0");
            }
            await client.DeleteMessageAsync(0);
            await client.DisconnectAsync(true);
        }
        var spool = await File.ReadAllTextAsync(spoolPath);
        Assert.DoesNotContain("Subject: one", spool, StringComparison.Ordinal);
        Assert.Contains("Subject: late", spool, StringComparison.Ordinal);
        Assert.Matches("\n>From here on\r?\n", spool);

        await using (var restarted = await ServerProcess.StartAsync(data.Path, null, environment, "--store", "mbox"))
        {
            using var client = new Pop3Client();
            await client.ConnectAsync("127.0.0.1", restarted.Port, MailKit.Security.SecureSocketOptions.None);
            await client.AuthenticateAsync("alice", "secret");
            var after = await client.GetMessageUidsAsync();
            Assert.Equal(3, after.Count);
            Assert.Equal(uids.Skip(1), after.Take(2));
            using var stream = new MemoryStream();
            (await client.GetMessageAsync(2)).WriteTo(stream);
            Assert.EndsWith("\n\nFrom here on\n", Encoding.ASCII.GetString(stream.ToArray()).Replace("\r\n", "\n", StringComparison.Ordinal), StringComparison.Ordinal);
            await client.DisconnectAsync(true);
        }
    }

    [Fact]
    public async Task Python_poplib_reads_a_spool_and_a_hostile_one_gets_an_error_not_a_crash()
    {
        var (data, spoolPath, environment) = await PrepareAsync();
        using var _ = data;
        await using var server = await ServerProcess.StartAsync(data.Path, null, environment, "--store", "mbox");
        var script = $$"""
            import poplib
            p = poplib.POP3('127.0.0.1', {{server.Port}}, timeout=20)
            p.user('alice'); p.pass_('secret')
            count, size = p.stat()
            resp, lines, octets = p.retr(2)
            u = p.uidl()[1]
            p.dele(2)
            p.quit()
            print(count, size, octets, b'|'.join(lines).decode(), len(u))
            """;
        var (exit, output) = await ExternalClientTests.RunAsync("python3", "-c", script);
        Assert.True(exit == 0, output);
        Assert.Equal($"3 {Sizes.Sum()} {Sizes[1]} Subject: two||second 3", output.Trim());
        Assert.DoesNotContain("Subject: two", await File.ReadAllTextAsync(spoolPath), StringComparison.Ordinal);

        // Not an mbox any more: the login is refused with [SYS/PERM], and the server keeps serving.
        await File.WriteAllTextAsync(spoolPath, "garbage\n");
        var bad = """
            import poplib
            p = poplib.POP3('127.0.0.1', PORT, timeout=20)
            p.user('alice')
            try:
                p.pass_('secret'); print('accepted')
            except poplib.error_proto as e:
                print(e.args[0].decode())
            """.Replace("PORT", server.Port.ToString(System.Globalization.CultureInfo.InvariantCulture), StringComparison.Ordinal);
        (exit, output) = await ExternalClientTests.RunAsync("python3", "-c", bad);
        Assert.True(exit == 0, output);
        Assert.StartsWith("-ERR [SYS/PERM]", output.Trim(), StringComparison.Ordinal);
        Assert.False(server.HasExited);
    }
}
