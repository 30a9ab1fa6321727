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
    {
        var window = buffer.Length > maxLength ? buffer.Slice(0, maxLength) : buffer;
        var position = window.PositionOf((byte)'\n');
        crlf = false;
        if (position is null)
        {
            line = default;
            return window.Length >= maxLength ? LineStatus.TooLong : LineStatus.NeedMoreData;
        }
        line = buffer.Slice(0, position.Value);
        buffer = buffer.Slice(buffer.GetPosition(1, position.Value));
        if (line.Length > 0)
        {
            var lastIndex = line.Length - 1;
            if (line.Slice(lastIndex).FirstSpan[0] == (byte)'\r')
            {
                line = line.Slice(0, lastIndex);
                crlf = true;
            }
        }
        return LineStatus.Complete;
    }

    /// <summary>True for the line that ends the data: a single dot (RFC 5321 §4.1.1.4).</summary>
    public static bool IsTerminator(in ReadOnlySequence<byte> line) => line.Length == 1 && line.FirstSpan[0] == (byte)'.';

    /// <summary>RFC 5321 §4.5.2: a line starting with '.' had one more '.' put in front by the client; take it off.</summary>
    public static ReadOnlySequence<byte> Unstuff(in ReadOnlySequence<byte> line)
        => line.Length > 0 && line.FirstSpan[0] == (byte)'.' ? line.Slice(1) : line;
}
