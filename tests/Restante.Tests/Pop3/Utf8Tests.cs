using System.Text;
using MimeKit;
using Restante.Tests.Infrastructure;

namespace Restante.Tests.Pop3;

/// <summary>RFC 6856 through real sessions: UTF8, UTF-8 logins, LANG, and downgraded headers for ASCII-only clients.</summary>
public class Utf8Tests
{
    // Raw UTF-8 in the header (RFC 6532), 8-bit in the body.
    private const string International =
        "From: \"Jörg Müller\" <joerg@bücher.example>\r\n" +
        "To: 用户 <用户@例子.example>, plain@example.com\r\n" +
        "Subject: Grüße aus Köln\r\n" +
        "Message-ID: <grüße@example.com>\r\n" +
        "\r\n" +
        "Body with ü.\r\n";

    private static async Task<TestServer> ServerAsync(params string[] messages)
    {
        var server = await TestServer.StartAsync();
        server.AddUser("alice", "secret");
        var time = 1_700_000_000L;
        foreach (var message in messages) server.Deliver("alice", Encoding.UTF8.GetBytes(message), time++);
        return server;
    }

    private static async Task<string> ReadUtf8LineAsync(Transcript c) => Encoding.UTF8.GetString((await c.ReadLineBytesAsync())!);

    private static async Task<(string Status, byte[] Body)> RetrAsync(Transcript c, int number)
    {
        await c.SendAsync($"RETR {number}");
        var status = (await c.ReadLineAsync())!;
        return status.StartsWith("+OK", StringComparison.Ordinal) ? (status, Unstuff(await c.ReadRawBodyAsync())) : (status, []);
    }

    /// <summary>The message octets: the body of the reply without its final ".\r\n" and with dot-stuffing undone.</summary>
    private static byte[] Unstuff(byte[] raw)
    {
        var text = Encoding.Latin1.GetString(raw, 0, raw.Length - 3);
        var lines = text.Split("\r\n").Select(l => l.StartsWith("..", StringComparison.Ordinal) ? l[1..] : l);
        return Encoding.Latin1.GetBytes(string.Join("\r\n", lines));
    }

    [Fact]
    public async Task Capa_announces_utf8_with_user_and_lang_in_both_states()
    {
        await using var server = await ServerAsync();
        await using var c = await server.ConnectAsync();
        await c.ExpectAsync("+OK");
        await c.SendAsync("CAPA");
        await c.ExpectAsync("+OK");
        var before = await c.ReadMultiLineAsync();
        Assert.Contains("UTF8 USER", before);
        Assert.Contains("LANG", before);
        await c.SendAsync("USER alice");
        await c.ExpectAsync("+OK");
        await c.SendAsync("PASS secret");
        await c.ExpectAsync("+OK");
        await c.SendAsync("CAPA");
        await c.ExpectAsync("+OK");
        var after = await c.ReadMultiLineAsync();
        Assert.Contains("UTF8 USER", after);
        Assert.Contains("LANG", after);
    }

    [Fact]
    public async Task Utf8_is_valid_before_login_only_and_stls_is_refused_after_it()
    {
        await using var server = await ServerAsync();
        await using var c = await server.ConnectAsync();
        await c.ExpectAsync("+OK");
        await c.SendAsync("UTF8 now");
        Assert.Equal("-ERR UTF8 takes no arguments.", await c.ReadLineAsync());
        await c.SendAsync("UTF8");
        Assert.Equal("+OK UTF-8 mode enabled.", await c.ReadLineAsync());
        await c.SendAsync("STLS");
        Assert.Equal("-ERR STLS is not allowed after UTF8.", await c.ReadLineAsync());
        await c.SendAsync("USER alice");
        await c.ExpectAsync("+OK");
        await c.SendAsync("PASS secret");
        await c.ExpectAsync("+OK");
        await c.SendAsync("UTF8");
        Assert.Equal("-ERR Command not valid after login.", await c.ReadLineAsync());
    }

    [Fact]
    public async Task A_client_without_utf8_gets_the_header_downgraded_and_the_octet_count_of_what_it_gets()
    {
        await using var server = await ServerAsync(International);
        var stored = Encoding.UTF8.GetBytes(International);
        await using var c = await server.LoginAsync("alice", "secret");
        await c.SendAsync("LIST 1");
        Assert.Equal($"+OK 1 {stored.Length}", await c.ReadLineAsync());   // LIST keeps the stored size (README: UTF8)

        var (status, body) = await RetrAsync(c, 1);
        Assert.Equal($"+OK {body.Length} octets", status);
        var headerEnd = body.AsSpan().IndexOf("\r\n\r\n"u8) + 4;
        Assert.True(headerEnd > 4);
        Assert.DoesNotContain(body[..headerEnd], b => b >= 0x80);            // RFC 6856 §2.1: nothing outside ASCII
        Assert.Equal("Body with ü.\r\n", Encoding.UTF8.GetString(body[headerEnd..]));   // 8-bit body as stored
        Assert.All(Encoding.ASCII.GetString(body[..headerEnd]).Split("\r\n"), l => Assert.True(l.Length <= 78, l));

        // What a MIME reader makes of it: the same names and text, the domain as an A-label, the UTF-8 address as a group.
        var parsed = MimeMessage.Load(new MemoryStream(body));
        Assert.Equal("Grüße aus Köln", parsed.Subject);
        var from = Assert.IsType<MailboxAddress>(Assert.Single(parsed.From));
        Assert.Equal("Jörg Müller", from.Name);
        Assert.Contains("<joerg@xn--bcher-kva.example>", Encoding.ASCII.GetString(body[..headerEnd]), StringComparison.Ordinal);
        Assert.Equal(2, parsed.To.Count);
        var group = Assert.IsType<GroupAddress>(parsed.To[0]);
        Assert.Equal("用户 <用户@例子.example>", group.Name);
        Assert.Equal("plain@example.com", Assert.IsType<MailboxAddress>(parsed.To[1]).Address);
        Assert.Equal("<grüße@example.com>", parsed.Headers["Downgraded-Message-ID"]);
    }

    [Fact]
    public async Task A_client_that_sent_utf8_gets_the_message_as_stored()
    {
        await using var server = await ServerAsync(International);
        await using var c = await server.ConnectAsync();
        await c.ExpectAsync("+OK");
        await c.SendAsync("UTF8");
        await c.ExpectAsync("+OK");
        await c.SendAsync("USER alice");
        await c.ExpectAsync("+OK");
        await c.SendAsync("PASS secret");
        await c.ExpectAsync("+OK");
        var (status, body) = await RetrAsync(c, 1);
        Assert.Equal($"+OK {Encoding.UTF8.GetByteCount(International)} octets", status);
        Assert.Equal(International, Encoding.UTF8.GetString(body));
    }

    [Fact]
    public async Task A_header_that_cannot_be_downgraded_is_refused_with_the_utf8_code_and_legacy_8bit_is_left_alone()
    {
        var mimeParameter = "Subject: x\r\nContent-Type: text/plain; name=\"naïve.txt\"\r\n\r\nbody\r\n";
        var hugeHeader = "Subject: Grüße\r\nX-Filler: " + new string('a', 70_000) + "\r\n\r\nbody\r\n";
        await using var server = await ServerAsync(mimeParameter, hugeHeader);
        var latin1 = Encoding.Latin1.GetBytes("Subject: Gr\u00fc\u00dfe\r\n\r\nbody\r\n");   // not UTF-8: some other charset
        server.Deliver("alice", latin1, 1_700_000_100);
        await using var c = await server.LoginAsync("alice", "secret");
        await c.SendAsync("RETR 1");
        Assert.Equal("-ERR [UTF8] This message needs UTF-8 mode: send UTF8 first.", await c.ReadLineAsync());
        await c.SendAsync("TOP 2 0");
        Assert.Equal("-ERR [UTF8] This message needs UTF-8 mode: send UTF8 first.", await c.ReadLineAsync());
        var (status, body) = await RetrAsync(c, 3);
        Assert.Equal($"+OK {latin1.Length} octets", status);
        Assert.Equal(latin1, body);
    }

    [Fact]
    public async Task Utf8_user_names_and_passwords_log_in_however_they_are_composed()
    {
        await using var server = await ServerAsync();
        // Stored precomposed (NFC) — what `restante user add` writes, see UserCommandsTests.
        server.AddUser("jörg", "Pässwort mit Leerzeichen");
        // Sent decomposed (o + U+0308, as macOS keyboards produce), with a no-break space in the password.
        await using var c = await server.ConnectAsync();
        await c.ExpectAsync("+OK");
        await c.SendRawAsync(Encoding.UTF8.GetBytes("USER jo\u0308rg\r\n"));
        await c.ExpectAsync("+OK");
        await c.SendRawAsync(Encoding.UTF8.GetBytes("PASS Pa\u0308sswort mit\u00A0Leerzeichen\r\n"));
        await c.ExpectAsync("+OK Logged in");

        // Malformed UTF-8 in USER is refused, as RFC 6856 §2.2 requires.
        await using var bad = await server.ConnectAsync();
        await bad.ExpectAsync("+OK");
        await bad.SendRawAsync([.. "USER j"u8, 0xC3, 0x28, .. "\r\n"u8]);
        Assert.Equal("-ERR Invalid user name.", await bad.ReadLineAsync());
    }

    [Fact]
    public async Task Lang_lists_switches_and_keeps_the_language_on_failure()
    {
        await using var server = await ServerAsync("Subject: x\r\n\r\nbody\r\n");
        await using var c = await server.ConnectAsync();
        await c.ExpectAsync("+OK");
        await c.SendAsync("LANG");
        Assert.Equal("+OK Language listing follows:", await c.ReadLineAsync());
        Assert.Equal(["en English", "de Deutsch"], await c.ReadMultiLineAsync());

        await c.SendAsync("LANG de-AT");   // RFC 4647 lookup: de-AT falls back to de
        Assert.Equal("+OK de Sprache geändert.", await ReadUtf8LineAsync(c));
        await c.SendAsync("LANG tlh");
        Assert.Equal("-ERR Unbekannte Sprache.", await ReadUtf8LineAsync(c));
        await c.SendAsync("USER alice");
        Assert.Equal("+OK Bitte Passwort senden.", await ReadUtf8LineAsync(c));
        await c.SendAsync("PASS secret");
        Assert.Equal("+OK Angemeldet, 1 Nachrichten (20 Oktette).", await ReadUtf8LineAsync(c));
        await c.SendAsync("RETR 7");
        Assert.Equal("-ERR Es gibt keine Nachricht 7.", await ReadUtf8LineAsync(c));
        await c.SendAsync("STAT");
        Assert.Equal("+OK 1 20", await c.ReadLineAsync());               // machine-read replies stay as they are
        await c.SendAsync("LANG *");
        Assert.Equal("+OK en Language changed.", await c.ReadLineAsync());
        await c.SendAsync("DELE 1");
        Assert.Equal("+OK Marked to be deleted.", await c.ReadLineAsync());
    }
}
