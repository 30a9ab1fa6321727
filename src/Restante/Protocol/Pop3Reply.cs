using System.Buffers;
using System.Text;

namespace Restante.Protocol;

/// <summary>Writes status lines and multi-line listings in RFC 1939 form. Nothing here flushes.</summary>
public static class Pop3Reply
{
    /// <param name="utf8">Write the text as UTF-8 (after RFC 6856 LANG chose a language); otherwise non-ASCII becomes '?'.</param>
    public static void Ok(IBufferWriter<byte> output, string text, bool utf8 = false)
    {
        output.Write("+OK"u8);
        if (text.Length > 0)
        {
            output.Write(" "u8);
            WriteText(output, text, utf8);
        }
        output.Write("\r\n"u8);
    }

    public static void Err(IBufferWriter<byte> output, ResponseCode code, string text, bool utf8 = false)
    {
        output.Write("-ERR "u8);
        output.Write(CodeText(code));
        WriteText(output, text, utf8);
        output.Write("\r\n"u8);
    }

    private static void WriteText(IBufferWriter<byte> output, string text, bool utf8)
    {
        if (!utf8)
        {
            WriteAscii(output, text);
            return;
        }
        // Still never a CR, LF or other control character, whatever the text quotes.
        var safe = string.Create(text.Length, text, static (span, t) =>
        {
            for (var i = 0; i < t.Length; i++) span[i] = t[i] is < ' ' or '\x7F' ? '?' : t[i];
        });
        var span = output.GetSpan(Encoding.UTF8.GetMaxByteCount(safe.Length));
        output.Advance(Encoding.UTF8.GetBytes(safe, span));
    }

    /// <summary>A line of a multi-line reply; the caller guarantees it does not start with '.'.</summary>
    /// <param name="utf8">As for <see cref="Ok"/>: the text as UTF-8 (a LANG listing's language names); otherwise non-ASCII becomes '?'.</param>
    public static void Line(IBufferWriter<byte> output, string text, bool utf8 = false)
    {
        WriteText(output, text, utf8);
        output.Write("\r\n"u8);
    }

    /// <summary>"n value" — a scan listing or unique-id listing line, without allocating.</summary>
    public static void NumberedLine(IBufferWriter<byte> output, int number, long value)
    {
        var span = output.GetSpan(48);
        number.TryFormat(span, out var n);
        span[n++] = (byte)' ';
        value.TryFormat(span[n..], out var m);
        n += m;
        span[n++] = (byte)'\r';
        span[n++] = (byte)'\n';
        output.Advance(n);
    }

    public static void NumberedLine(IBufferWriter<byte> output, int number, string value)
    {
        var span = output.GetSpan(16 + value.Length);
        number.TryFormat(span, out var n);
        span[n++] = (byte)' ';
        n += Encoding.ASCII.GetBytes(value, span[n..]);
        span[n++] = (byte)'\r';
        span[n++] = (byte)'\n';
        output.Advance(n);
    }

    public static void End(IBufferWriter<byte> output) => output.Write(".\r\n"u8);

    private static ReadOnlySpan<byte> CodeText(ResponseCode code) => code switch
    {
        ResponseCode.InUse => "[IN-USE] "u8,
        ResponseCode.LoginDelay => "[LOGIN-DELAY] "u8,
        ResponseCode.SysTemp => "[SYS/TEMP] "u8,
        ResponseCode.SysPerm => "[SYS/PERM] "u8,
        ResponseCode.Auth => "[AUTH] "u8,
        ResponseCode.Utf8 => "[UTF8] "u8,
        _ => default,
    };

    private static void WriteAscii(IBufferWriter<byte> output, string text)
    {
        var span = output.GetSpan(text.Length);
        for (var i = 0; i < text.Length; i++)
        {
            // Reply text is ours, but it may quote client input: never let a CR, LF or non-ASCII through.
            var c = text[i];
            span[i] = c is >= ' ' and <= '~' ? (byte)c : (byte)'?';
        }
        output.Advance(text.Length);
    }
}
