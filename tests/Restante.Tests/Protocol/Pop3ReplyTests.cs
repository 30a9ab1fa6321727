using System.Buffers;
using System.Text;
using Restante.Protocol;

namespace Restante.Tests.Protocol;

public class Pop3ReplyTests
{
    private static byte[] Line(string text, bool utf8)
    {
        var output = new ArrayBufferWriter<byte>();
        Pop3Reply.Line(output, text, utf8);
        return output.WrittenSpan.ToArray();
    }

    [Fact]
    public void A_utf8_listing_line_goes_out_as_utf8_and_an_ascii_one_with_question_marks()
    {
        // A LANG listing names each language in itself (RFC 6856 §3): "fr Français" must reach the client as UTF-8.
        Assert.Equal(Encoding.UTF8.GetBytes("fr Fran\u00e7ais\r\n"), Line("fr Fran\u00e7ais", utf8: true));
        Assert.Equal("fr Fran?ais\r\n"u8.ToArray(), Line("fr Fran\u00e7ais", utf8: false));
    }

    [Fact]
    public void No_line_break_or_control_character_gets_through_either_way()
    {
        Assert.Equal(Encoding.UTF8.GetBytes("\u00e9??x?\r\n"), Line("\u00e9\r\nx\u0007", utf8: true));
        Assert.Equal("???x?\r\n"u8.ToArray(), Line("\u00e9\r\nx\u0007", utf8: false));
    }
}
