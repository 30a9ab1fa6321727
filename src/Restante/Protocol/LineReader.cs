using System.Buffers;

namespace Restante.Protocol;

/// <summary>Takes one line at a time out of a pipe buffer, never looking further than a ceiling.</summary>
public static class LineReader
{
    /// <summary>
    /// Takes the next line (without its line end) when it ends within <paramref name="maxLength"/>
    /// octets, line end included. Accepts CRLF and, as every deployed server does, a bare LF.
    /// </summary>
    public static LineStatus TryTakeLine(ref ReadOnlySequence<byte> buffer, int maxLength, out ReadOnlySequence<byte> line)
        => TryTakeLine(ref buffer, maxLength, out line, out _);

    /// <summary>As above; <paramref name="crlf"/> tells whether the line ended with CRLF rather than a bare LF.</summary>
    public static LineStatus TryTakeLine(ref ReadOnlySequence<byte> buffer, int maxLength, out ReadOnlySequence<byte> line, out bool crlf)
    {
        crlf = false;
        // Look only at what we are willing to accept, so a flood without line ends costs nothing.
        var window = buffer.Length > maxLength ? buffer.Slice(0, maxLength) : buffer;
        var position = window.PositionOf((byte)'\n');
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

    /// <summary>
    /// Drops bytes up to and including the next LF. Returns true when the LF was found; false means
    /// everything was dropped and the caller must keep discarding.
    /// </summary>
    public static bool TrySkipPastLineEnd(ref ReadOnlySequence<byte> buffer)
    {
        var position = buffer.PositionOf((byte)'\n');
        if (position is null)
        {
            buffer = buffer.Slice(buffer.End);
            return false;
        }
        buffer = buffer.Slice(buffer.GetPosition(1, position.Value));
        return true;
    }
}
