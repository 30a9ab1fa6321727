using System.Buffers;

namespace Restante.Protocol;

/// <summary>
/// Streams a stored message as a POP3 multi-line reply body: bare LF becomes CRLF, a line starting
/// with '.' gets a second '.' (RFC 1939 §3 byte-stuffing), a last line without a line end gets one,
/// and 8-bit bytes pass untouched. For TOP it stops after the header, the blank line and n body lines.
/// Counting agrees with <see cref="MessageOctets"/> before stuffing.
/// </summary>
public sealed class MessageWriter
{
    private readonly long _bodyLineLimit;
    private bool _atLineStart = true;
    private byte _last;
    private bool _inHeader;
    private long _lineBytes;
    private long _bodyLinesLeft;
    private bool _finished;

    /// <param name="bodyLineLimit">Null for RETR (everything); n for TOP (header plus n body lines).</param>
    public MessageWriter(long? bodyLineLimit = null)
    {
        _bodyLineLimit = bodyLineLimit ?? -1;
        _inHeader = bodyLineLimit is not null;
        _bodyLinesLeft = _bodyLineLimit;
    }

    /// <summary>True once TOP has sent all it should; further input is ignored.</summary>
    public bool Finished => _finished;

    public void Write(ReadOnlySpan<byte> chunk, IBufferWriter<byte> output)
    {
        while (!chunk.IsEmpty && !_finished)
        {
            if (_atLineStart)
            {
                if (_bodyLinesLeft == 0 && !_inHeader)
                {
                    _finished = true;
                    return;
                }
                if (chunk[0] == (byte)'.') output.Write("."u8);
                _atLineStart = false;
                _lineBytes = 0;
            }

            var lf = chunk.IndexOf((byte)'\n');
            var segment = lf < 0 ? chunk : chunk[..lf];
            if (!segment.IsEmpty)
            {
                output.Write(segment);
                _lineBytes += segment.Length;
                _last = segment[^1];
            }
            if (lf < 0) return;

            output.Write(_last == (byte)'\r' ? "\n"u8 : "\r\n"u8);
            // A line holding nothing, or only the CR of its CRLF, is the blank line that ends the header.
            var blank = _lineBytes == 0 || (_lineBytes == 1 && _last == (byte)'\r');
            _last = (byte)'\n';
            _atLineStart = true;
            EndOfLine(blank);
            chunk = chunk[(lf + 1)..];
        }
    }

    private void EndOfLine(bool blank)
    {
        if (_inHeader)
        {
            if (blank) _inHeader = false;
        }
        else if (_bodyLinesLeft > 0)
        {
            _bodyLinesLeft--;
        }
    }

    /// <summary>Ends the reply: the line end the message may lack, then the terminating ".".</summary>
    public void Complete(IBufferWriter<byte> output)
    {
        output.Write(_atLineStart ? ".\r\n"u8 : "\r\n.\r\n"u8);
    }
}
