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
        if (chunk.IsEmpty || _finished) return;
        if (_bodyLineLimit < 0)
        {
            WriteWhole(chunk, output);
            return;
        }
        // One destination span per chunk, sized for the worst case (every byte a bare LF or a
        // dot-leading line: at most doubled), so the loop below only copies runs — no call into
        // the writer per line. Runs end only at a stuffed dot or a repaired line end, so a CRLF
        // message without dot-leading lines is one copy per chunk.
        var destination = output.GetSpan(chunk.Length * 2);
        var written = 0;
        var run = 0;
        var position = 0;
        while (position < chunk.Length)
        {
            if (_atLineStart)
            {
                if (_bodyLinesLeft == 0 && !_inHeader)
                {
                    _finished = true;
                    break;
                }
                if (chunk[position] == (byte)'.')
                {
                    written += Copy(chunk[run..position], destination[written..]);
                    destination[written++] = (byte)'.';
                    run = position;
                }
                _atLineStart = false;
                _lineBytes = 0;
            }

            var lf = chunk[position..].IndexOf((byte)'\n');
            if (lf < 0)
            {
                _lineBytes += chunk.Length - position;
                _last = chunk[^1];
                position = chunk.Length;
                break;
            }
            lf += position;
            if (lf > position) _last = chunk[lf - 1];
            _lineBytes += lf - position;
            if (_last != (byte)'\r')
            {
                // A bare LF: copy what came before, then the missing CR; the LF starts the next run.
                written += Copy(chunk[run..lf], destination[written..]);
                destination[written++] = (byte)'\r';
                run = lf;
            }
            // A line holding nothing, or only the CR of its CRLF, is the blank line that ends the header.
            var blank = _lineBytes == 0 || (_lineBytes == 1 && _last == (byte)'\r');
            _last = (byte)'\n';
            _atLineStart = true;
            EndOfLine(blank);
            position = lf + 1;
        }
        written += Copy(chunk[run..position], destination[written..]);
        output.Advance(written);
    }

    /// <summary>
    /// RETR: no header or line counting, so the loop is only "find the next LF, copy the line, repair its end, stuff a
    /// leading dot". A message stored with LF ends (as Postfix writes Maildirs) has a bare LF on every line, so every
    /// line is one vectorised IndexOf and one block copy; nothing is done per byte.
    /// </summary>
    private void WriteWhole(ReadOnlySpan<byte> chunk, IBufferWriter<byte> output)
    {
        // Worst case: every byte a bare LF (gains a CR), or a dot at a line start (gains a dot).
        var destination = output.GetSpan(chunk.Length * 2);
        var written = 0;
        var atLineStart = _atLineStart;
        var last = _last;
        var rest = chunk;
        while (!rest.IsEmpty)
        {
            if (atLineStart && rest[0] == (byte)'.') destination[written++] = (byte)'.';   // RFC 1939 §3 byte-stuffing
            var lf = rest.IndexOf((byte)'\n');
            if (lf < 0)
            {
                rest.CopyTo(destination[written..]);
                written += rest.Length;
                last = rest[^1];
                atLineStart = false;
                break;
            }
            rest[..lf].CopyTo(destination[written..]);
            written += lf;
            // The byte before this LF: in this chunk, or the last of the one before (a CRLF split between reads).
            var before = lf > 0 ? rest[lf - 1] : atLineStart ? (byte)'\n' : last;
            if (before != (byte)'\r') destination[written++] = (byte)'\r';
            destination[written++] = (byte)'\n';
            rest = rest[(lf + 1)..];
            atLineStart = true;
            last = (byte)'\n';
        }
        _atLineStart = atLineStart;
        _last = last;
        output.Advance(written);
    }

    private static int Copy(ReadOnlySpan<byte> source, Span<byte> destination)
    {
        source.CopyTo(destination);
        return source.Length;
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
