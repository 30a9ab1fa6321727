using System.Buffers;
using System.Text;
using Restante.Protocol;

namespace Restante.Tests.Protocol;

public class MessageWriterTests
{
    private static string Render(string stored, long? top = null, int chunk = int.MaxValue)
    {
        var bytes = Encoding.Latin1.GetBytes(stored);
        var output = new ArrayBufferWriter<byte>();
        var writer = new MessageWriter(top);
        for (var i = 0; i < bytes.Length && !writer.Finished; i += chunk)
            writer.Write(bytes.AsSpan(i, Math.Min(chunk, bytes.Length - i)), output);
        writer.Complete(output);
        return Encoding.Latin1.GetString(output.WrittenSpan);
    }

    [Theory]
    [InlineData("a\r\nb\r\n", "a\r\nb\r\n.\r\n")]
    [InlineData("a\nb\n", "a\r\nb\r\n.\r\n")]
    [InlineData("a\nb", "a\r\nb\r\n.\r\n")]
    [InlineData("", ".\r\n")]
    [InlineData(".hidden\n..two\n.\n", "..hidden\r\n...two\r\n..\r\n.\r\n")]
    [InlineData("x\n.\ny", "x\r\n..\r\ny\r\n.\r\n")]
    [InlineData("a\rb\n", "a\rb\r\n.\r\n")]
    [InlineData("\n\n", "\r\n\r\n.\r\n")]
    [InlineData("caf\u00e9 \u00ff\0\n", "caf\u00e9 \u00ff\0\r\n.\r\n")]
    [InlineData("ends with cr\r", "ends with cr\r\r\n.\r\n")]
    public void Converts_line_ends_and_stuffs_dots_in_any_chunking(string stored, string expected)
    {
        for (var chunk = 1; chunk <= stored.Length + 1; chunk++)
            Assert.Equal(expected, Render(stored, chunk: chunk));
    }

    [Theory]
    [InlineData("a\r\nb\r\n")]
    [InlineData("a\nb\n")]
    [InlineData("a\nb")]
    [InlineData("")]
    [InlineData(".x\n")]
    [InlineData("a\rb\n\r")]
    [InlineData("\r\n\n\r\r\n")]
    public void Size_before_stuffing_matches_what_is_sent(string stored)
    {
        var sent = Render(stored);
        var unstuffed = sent[..^3].Replace("\r\n..", "\r\n.");
        if (unstuffed.StartsWith("..", StringComparison.Ordinal)) unstuffed = unstuffed[1..];
        Assert.Equal(unstuffed.Length, MessageOctets.Count(Encoding.Latin1.GetBytes(stored)));
    }

    /// <summary>RFC 1939 §3 written the slow and obvious way, one octet at a time.</summary>
    private static string Reference(string stored)
    {
        var output = new StringBuilder();
        var atLineStart = true;
        for (var i = 0; i < stored.Length; i++)
        {
            var c = stored[i];
            if (atLineStart && c == '.') output.Append('.');
            if (c == '\n' && (i == 0 || stored[i - 1] != '\r')) output.Append('\r');
            output.Append(c);
            atLineStart = c == '\n';
        }
        if (!atLineStart) output.Append("\r\n");
        return output.Append(".\r\n").ToString();
    }

    // RETR converts 64-octet windows (the last 64 to 127 octets 16 at a time, then one by one), and after each LF stores the
    // 64 octets that follow it: each line end that needs work is put at every offset of a window, on both sides of a
    // window's edge, in the tail, and at every chunk boundary near it.
    [Theory]
    [InlineData("\n")]
    [InlineData("\r\n")]
    [InlineData("\n.")]
    [InlineData("\r\n.")]
    [InlineData("\n\n")]
    [InlineData("\n..\n.")]
    [InlineData("\r")]
    [InlineData("\r\r\n")]
    [InlineData(".")]
    public void Retr_converts_line_ends_and_dots_at_every_offset_of_a_block(string special)
    {
        for (var at = 0; at < 140; at++)
        {
            foreach (var after in (int[])[0, 1, 15, 16, 17, 31, 32, 33, 63, 64, 65, 70, 127, 128, 129])
            {
                var stored = new string('a', at) + special + new string('b', after) + special + "c";
                var expected = Reference(stored);
                Assert.Equal(expected, Render(stored));
                foreach (var chunk in (int[])[1, 7, 16, 31, 32, 33, at, at + 1, at + 2])
                    if (chunk > 0) Assert.Equal(expected, Render(stored, chunk: chunk));
            }
        }
    }

    [Fact]
    public void Retr_of_a_lf_message_larger_than_many_blocks_is_exact_in_any_chunking()
    {
        var random = new Random(13);
        var text = new StringBuilder("Subject: x\n\n");
        while (text.Length < 20_000)
        {
            var roll = random.Next(10);
            text.Append(roll switch { 0 => ".", 1 => "..", 2 => "\r", _ => "" });
            // Mostly lines of a mail's length, some far longer than a window (the octets after an LF are stored 64 at a time).
            text.Append('w', random.Next(0, roll == 4 ? 400 : 90)).Append(roll == 3 ? "\r\n" : "\n");
        }
        var stored = text.ToString();
        var expected = Reference(stored);
        foreach (var chunk in (int[])[int.MaxValue, 4096, 1000, 257, 33, 32, 31, 3])
            Assert.Equal(expected, Render(stored, chunk: chunk));
    }

    [Fact]
    public void MaxOutput_holds_the_worst_case()
    {
        // Every octet an LF followed by a dot: each pair doubles, and the first dot is stuffed too.
        var stored = "." + string.Concat(Enumerable.Repeat("\n.", 200));
        var bytes = Encoding.Latin1.GetBytes(stored);
        var output = new ArrayBufferWriter<byte>(MessageWriter.MaxOutput(bytes.Length));
        var writer = new MessageWriter();
        writer.Write(bytes, output);
        writer.Complete(output);
        Assert.True(output.WrittenCount <= MessageWriter.MaxOutput(bytes.Length));
        Assert.Equal(Reference(stored), Encoding.Latin1.GetString(output.WrittenSpan));
    }

    private const string Mail = "Subject: hi\nFrom: a@b\n\nline1\n.line2\nline3\n";

    [Theory]
    [InlineData(0, "Subject: hi\r\nFrom: a@b\r\n\r\n.\r\n")]
    [InlineData(1, "Subject: hi\r\nFrom: a@b\r\n\r\nline1\r\n.\r\n")]
    [InlineData(2, "Subject: hi\r\nFrom: a@b\r\n\r\nline1\r\n..line2\r\n.\r\n")]
    [InlineData(10, "Subject: hi\r\nFrom: a@b\r\n\r\nline1\r\n..line2\r\nline3\r\n.\r\n")]
    public void Top_sends_header_blank_line_and_n_body_lines(long lines, string expected)
    {
        for (var chunk = 1; chunk <= Mail.Length; chunk++)
            Assert.Equal(expected, Render(Mail, lines, chunk));
    }

    [Fact]
    public void Top_of_a_message_without_body_sends_the_header()
    {
        Assert.Equal("Subject: x\r\n.\r\n", Render("Subject: x\n", 5));
        Assert.Equal("Subject: x\r\n\r\n.\r\n", Render("Subject: x\r\n\r\n", 0));
    }
}
