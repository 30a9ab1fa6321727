using System.Text;
using Restante.Protocol;

namespace Restante.Tests.Protocol;

public class MessageNumberTests
{
    [Theory]
    [InlineData("1", 3, 0, "")]
    [InlineData("3", 3, 2, "")]
    [InlineData("2 10", 3, 1, "10")]
    public void Parses_valid_numbers(string text, int count, int index, string rest)
    {
        ReadOnlySpan<byte> args = Encoding.ASCII.GetBytes(text);
        Assert.True(MessageNumber.TryParse(ref args, count, out var parsed, out _));
        Assert.Equal(index, parsed);
        Assert.Equal(rest, Encoding.ASCII.GetString(args));
    }

    [Theory]
    [InlineData("0", "There's no message 0.")]
    [InlineData("4", "There's no message 4.")]
    [InlineData("-1", "Invalid message number: -1")]
    [InlineData("1x", "Invalid message number: 1x")]
    [InlineData("+1", "Invalid message number: +1")]
    [InlineData("99999999999999999999", "Invalid message number: 99999999999999999999")]
    [InlineData("", "Missing message number.")]
    public void Rejects_bad_numbers_with_a_reason(string text, string error)
    {
        ReadOnlySpan<byte> args = Encoding.ASCII.GetBytes(text);
        Assert.False(MessageNumber.TryParse(ref args, 3, out _, out var actual));
        Assert.Equal(error, actual);
    }
}
