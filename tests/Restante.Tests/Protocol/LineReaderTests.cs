using System.Buffers;
using System.Text;
using Restante.Protocol;

namespace Restante.Tests.Protocol;

public class LineReaderTests
{
    [Theory]
    [InlineData("STAT\r\n", "STAT")]
    [InlineData("STAT\n", "STAT")]
    [InlineData("top 1 10\r\nNOOP\r\n", "top 1 10")]
    [InlineData("\r\n", "")]
    [InlineData("PASS a\rb\r\n", "PASS a\rb")]
    public void Takes_the_first_line_in_any_framing(string wire, string expected)
    {
        foreach (var input in Framings.All(Encoding.ASCII.GetBytes(wire)))
        {
            var buffer = input;
            Assert.Equal(LineStatus.Complete, LineReader.TryTakeLine(ref buffer, 255, out var line));
            Assert.Equal(expected, Encoding.ASCII.GetString(line.ToArray()));
        }
    }

    [Fact]
    public void Waits_for_the_line_end()
    {
        foreach (var input in Framings.All("RETR 1"u8.ToArray()))
        {
            var buffer = input;
            Assert.Equal(LineStatus.NeedMoreData, LineReader.TryTakeLine(ref buffer, 255, out _));
            Assert.Equal(6, buffer.Length);
        }
    }

    [Fact]
    public void A_line_longer_than_the_ceiling_is_too_long_without_looking_further()
    {
        var data = Encoding.ASCII.GetBytes(new string('A', 300) + "\r\n");
        var buffer = new ReadOnlySequence<byte>(data);
        Assert.Equal(LineStatus.TooLong, LineReader.TryTakeLine(ref buffer, 255, out _));
    }

    [Fact]
    public void A_line_of_exactly_the_ceiling_is_accepted()
    {
        var data = Encoding.ASCII.GetBytes(new string('A', 253) + "\r\n");
        var buffer = new ReadOnlySequence<byte>(data);
        Assert.Equal(LineStatus.Complete, LineReader.TryTakeLine(ref buffer, 255, out var line));
        Assert.Equal(253, line.Length);
        Assert.True(buffer.IsEmpty);
    }

    [Fact]
    public void Skipping_drops_through_the_next_line_end()
    {
        var buffer = new ReadOnlySequence<byte>("xxxx\nNOOP\r\n"u8.ToArray());
        Assert.True(LineReader.TrySkipPastLineEnd(ref buffer));
        Assert.Equal("NOOP\r\n", Encoding.ASCII.GetString(buffer.ToArray()));
        var noEnd = new ReadOnlySequence<byte>("xxxx"u8.ToArray());
        Assert.False(LineReader.TrySkipPastLineEnd(ref noEnd));
        Assert.True(noEnd.IsEmpty);
    }
}
