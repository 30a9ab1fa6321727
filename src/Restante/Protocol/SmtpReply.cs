using System.Buffers;

namespace Restante.Protocol;

/// <summary>
/// One SMTP/LMTP reply: a three-digit code (RFC 5321 §4.2), an enhanced status code (RFC 3463,
/// sent as RFC 2034 §3 describes) and text. Writing never flushes.
/// </summary>
public readonly record struct SmtpReply(int Code, string Enhanced, string Text)
{
    public bool IsSuccess => Code is >= 200 and < 300;

    public bool IsTransient => Code is >= 400 and < 500;

    public void WriteTo(IBufferWriter<byte> output) => Write(output, Code, Enhanced, Text, last: true);

    /// <summary>
    /// Writes "code[-| ][enhanced ]text CRLF". <paramref name="last"/> false makes a continuation
    /// line of a multi-line reply (RFC 5321 §4.2.1: "250-" on every line but the last).
    /// </summary>
    public static void Write(IBufferWriter<byte> output, int code, string enhanced, string text, bool last)
    {
        var length = 4 + (enhanced.Length > 0 ? enhanced.Length + 1 : 0) + text.Length + 2;
        var span = output.GetSpan(length);
        code.TryFormat(span, out var n, provider: System.Globalization.CultureInfo.InvariantCulture);
        span[n++] = last ? (byte)' ' : (byte)'-';
        if (enhanced.Length > 0)
        {
            n += Ascii(enhanced, span[n..]);
            span[n++] = (byte)' ';
        }
        n += Ascii(text, span[n..]);
        span[n++] = (byte)'\r';
        span[n++] = (byte)'\n';
        output.Advance(n);
    }

    private static int Ascii(string text, Span<byte> destination)
    {
        for (var i = 0; i < text.Length; i++)
        {
            // Reply text may quote client input: never let a CR, LF or non-ASCII through.
            var c = text[i];
            destination[i] = c is >= ' ' and <= '~' ? (byte)c : (byte)'?';
        }
        return text.Length;
    }

    public override string ToString() => Enhanced.Length > 0 ? $"{Code} {Enhanced} {Text}" : $"{Code} {Text}";
}
