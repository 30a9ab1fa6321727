using System.Text;
using Restante.Protocol;
using Restante.Tests.Infrastructure;

namespace Restante.Tests.Pop3;

/// <summary>
/// RETR's "+OK n octets" for a downgraded header (RFC 6856 §2.1) must count what follows, including for a message that
/// is all header and lacks its final line end: the stored size (LIST) counts that line end, and so does the downgrade.
/// </summary>
public class DowngradedOctetCountTests
{
    [Theory]
    [InlineData("Subject: Gr\u00fc\u00dfe")]                       // header only, no final newline
    [InlineData("Subject: Gr\u00fc\u00dfe\n")]                     // header only, LF
    [InlineData("Subject: Gr\u00fc\u00dfe\r\nX: y")]               // two fields, the last unterminated
    [InlineData("Subject: Gr\u00fc\u00dfe\n\nbody")]               // header, body without newline
    [InlineData("Subject: Gr\u00fc\u00dfe\nX: y\n\nbody\n")]       // an ASCII field copied with its bare LF
    public async Task The_octet_count_of_a_downgraded_message_is_what_is_sent(string message)
    {
        await using var server = await TestServer.StartAsync();
        server.AddUser("alice", "secret");
        var stored = Encoding.UTF8.GetBytes(message);
        server.Deliver("alice", stored, 1_700_000_000);
        await using var c = await server.LoginAsync("alice", "secret");
        await c.SendAsync("LIST 1");
        Assert.Equal($"+OK 1 {MessageOctets.Count(stored)}", await c.ReadLineAsync());
        await c.SendAsync("RETR 1");
        var status = (await c.ReadLineAsync())!;
        var raw = await c.ReadRawBodyAsync();
        var sent = raw.Length - ".\r\n".Length - CountStuffedDots(raw);
        Assert.Equal($"+OK {sent} octets", status);
    }

    private static int CountStuffedDots(byte[] raw)
    {
        var count = 0;
        for (var i = 0; i + 1 < raw.Length; i++)
            if (raw[i] == '.' && raw[i + 1] == '.' && (i == 0 || raw[i - 1] == '\n')) count++;
        return count;
    }
}
