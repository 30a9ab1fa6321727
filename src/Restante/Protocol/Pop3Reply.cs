using System.Buffers;
using System.Text;

namespace Restante.Protocol;

/// <summary>Writes status lines and multi-line listings in RFC 1939 form. Nothing here flushes.</summary>
public static class Pop3Reply
{
    public static void Ok(IBufferWriter<byte> output, string text)
    {
        output.Write("+OK"u8);
        if (text.Length > 0)
        {
            output.Write(" "u8);
            WriteAscii(output, text);
        }
        output.Write("\r\n"u8);
    }

    public static void Err(IBufferWriter<byte> output, ResponseCode code, string text)
    {
        output.Write("-ERR "u8);
        output.Write(CodeText(code));
        WriteAscii(output, text);
        output.Write("\r\n"u8);
    }

    /// <summary>A line of a multi-line reply; the caller guarantees it does not start with '.'.</summary>
    public static void Line(IBufferWriter<byte> output, string text)
    {
        WriteAscii(output, text);
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
