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
