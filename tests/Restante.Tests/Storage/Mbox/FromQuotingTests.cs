using System.Buffers;
using System.Text;
using Restante.Storage.Mbox;

namespace Restante.Tests.Storage.Mbox;

public class FromQuotingTests
{
    [Theory]
    [InlineData(MboxVariant.Mboxrd, "From me\n", ">From me\n")]
    [InlineData(MboxVariant.Mboxrd, "a\nFrom x\n>From y\n>>From z\nFromage\n>From\n", "a\n>From x\n>>From y\n>>>From z\nFromage\n>From\n")]
    [InlineData(MboxVariant.Mboxrd, "x\r\nFrom y\r\n", "x\r\n>From y\r\n")]
    [InlineData(MboxVariant.Mboxrd, "no From here\n>>>\n>", "no From here\n>>>\n>")]
    [InlineData(MboxVariant.Mboxrd, "\n>Fro", "\n>Fro")]
    [InlineData(MboxVariant.Mboxo, "From me\n>From you\n", ">From me\n>From you\n")]
    public void Quotes_and_unquotes_in_any_framing(MboxVariant variant, string message, string stored)
    {
        var original = Encoding.ASCII.GetBytes(message);
        var quoted = Encoding.ASCII.GetBytes(stored);
        foreach (var split in SplitPoints(original.Length))
            Assert.Equal(stored, Run(FromQuoting.Quoter(variant), original, split));
        // mboxo cannot tell a quoted "From " from a body line that was ">From ": that one comes back changed.
        var expected = variant == MboxVariant.Mboxo ? message.Replace("\n>From", "\nFrom", StringComparison.Ordinal) : message;
        foreach (var split in SplitPoints(quoted.Length))
            Assert.Equal(expected, Run(FromQuoting.Unquoter(variant), quoted, split));
    }

    [Fact]
    public void A_line_of_a_million_marks_is_streamed_not_held()
    {
        var line = new string('>', 1_000_000) + "From x\n";
        var unquoter = FromQuoting.Unquoter(MboxVariant.Mboxrd);
        var output = new ArrayBufferWriter<byte>();
        var bytes = Encoding.ASCII.GetBytes(line);
        // Fed in small chunks: output keeps pace with input (at most the one mark held back).
        for (var i = 0; i < bytes.Length; i += 4096)
        {
            unquoter.Transform(bytes.AsSpan(i, Math.Min(4096, bytes.Length - i)), output);
            Assert.True(output.WrittenCount >= Math.Min(i + 4096, 1_000_000) - 1);
        }
        unquoter.Complete(output);
        Assert.Equal(line[1..], Encoding.ASCII.GetString(output.WrittenSpan));
    }

    private static IEnumerable<int> SplitPoints(int length) => Enumerable.Range(0, length + 1);

    private static string Run(FromQuoting quoting, byte[] input, int split)
    {
        var output = new ArrayBufferWriter<byte>();
        quoting.Transform(input.AsSpan(0, split), output);
        // Byte by byte after the split: every state boundary is crossed.
        for (var i = split; i < input.Length; i++) quoting.Transform(input.AsSpan(i, 1), output);
        quoting.Complete(output);
        return Encoding.ASCII.GetString(output.WrittenSpan);
    }
}
