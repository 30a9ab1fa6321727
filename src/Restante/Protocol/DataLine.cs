using System.Buffers;

namespace Restante.Protocol;

/// <summary>
/// Reads the lines of a DATA section (RFC 5321 §4.1.1.4) with a ceiling, knowing how each ended:
/// only a "." line ended by CRLF, after a line ended by CRLF, ends the data. A bare LF never ends
/// it, so "\n.\n" cannot smuggle a second message past a relay that reads it differently.
/// </summary>
public static class DataLine
{
    /// <summary>
    /// Takes the next line (without its line end) when it ends within <paramref name="maxLength"/>
    /// octets, line end included. <paramref name="crlf"/> tells whether it ended with CRLF.
    /// </summary>
    public static LineStatus TryTake(ref ReadOnlySequence<byte> buffer, int maxLength, out ReadOnlySequence<byte> line, out bool crlf)
        => LineReader.TryTakeLine(ref buffer, maxLength, out line, out crlf);

    /// <summary>True for the line that ends the data: a single dot (RFC 5321 §4.1.1.4).</summary>
    public static bool IsTerminator(in ReadOnlySequence<byte> line) => line.Length == 1 && line.FirstSpan[0] == (byte)'.';

    /// <summary>RFC 5321 §4.5.2: a line starting with '.' had one more '.' put in front by the client; take it off.</summary>
    public static ReadOnlySequence<byte> Unstuff(in ReadOnlySequence<byte> line)
        => line.Length > 0 && line.FirstSpan[0] == (byte)'.' ? line.Slice(1) : line;
}
