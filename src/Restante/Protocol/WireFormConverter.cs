namespace Restante.Protocol;

/// <summary>
/// Turns a message as it arrives (LF or CRLF line ends) into the form Maildir delivery stores: every bare LF becomes
/// CRLF and a last line without a line end gets CRLF, exactly what <see cref="MessageWriter"/> sends, so the stored
/// length equals <see cref="MessageOctets"/> of the input and LIST sizes do not change. Meanwhile it notes whether the
/// result is already the POP3 wire form of RETR (RFC 1939 §3): no bare CR, no line starting with '.', which would
/// need byte-stuffing, and an ASCII header (so no session needs the RFC 6856 downgrade). Only such a file may be sent
/// to a client as it is.
/// </summary>
public sealed class WireFormConverter
{
    private byte _last;
    private bool _atLineStart = true;
    private bool _inHeader = true;
    private bool _any;

    /// <summary>Octets produced so far (with the line end <see cref="Complete"/> may add, the stored length).</summary>
    public long Length { get; private set; }

    /// <summary>True while everything converted so far can go to a client unchanged.</summary>
    public bool IsWireForm { get; private set; } = true;

    /// <summary>Writes <paramref name="chunk"/> converted into <paramref name="destination"/>, which must hold 2× its length; returns the octets written.</summary>
    public int Convert(ReadOnlySpan<byte> chunk, Span<byte> destination)
    {
        if (chunk.IsEmpty) return 0;
        _any = true;
        var written = 0;
        var rest = chunk;
        // A CR that ended the previous chunk is bare unless this one starts with its LF.
        if (_last == (byte)'\r' && rest[0] != (byte)'\n') IsWireForm = false;
        while (!rest.IsEmpty)
        {
            if (_atLineStart)
            {
                if (rest[0] == (byte)'.') IsWireForm = false;
                // The header ends at the first empty line (RFC 5322 §2.1); "\r" here is the CR of an empty CRLF line.
                if (_inHeader && rest[0] is (byte)'\n' or (byte)'\r') _inHeader = false;
            }
            var lf = rest.IndexOf((byte)'\n');
            var line = lf < 0 ? rest : rest[..lf];
            if (IsWireForm && Inspect(line)) IsWireForm = false;
            line.CopyTo(destination[written..]);
            written += line.Length;
            if (lf < 0)
            {
                _last = rest[^1];
                _atLineStart = false;
                break;
            }
            var before = lf > 0 ? rest[lf - 1] : _last;
            if (before != (byte)'\r') destination[written++] = (byte)'\r';
            destination[written++] = (byte)'\n';
            rest = rest[(lf + 1)..];
            _last = (byte)'\n';
            _atLineStart = true;
        }
        Length += written;
        return written;
    }

    /// <summary>A bare CR inside the line (a CR not followed by its LF), or 8-bit octets in the header.</summary>
    private bool Inspect(ReadOnlySpan<byte> line)
    {
        // A CR last in the line: before its LF, or last in the chunk (decided when the next chunk starts).
        var content = line.Length > 0 && line[^1] == (byte)'\r' ? line[..^1] : line;
        if (content.Contains((byte)'\r')) return true;
        return _inHeader && content.IndexOfAnyInRange((byte)0x80, (byte)0xFF) >= 0;
    }

    /// <summary>The line end a message without a final one gets (RFC 1939 §3: every line ends with CRLF); empty otherwise.</summary>
    public ReadOnlySpan<byte> Complete()
    {
        if (!_any || _atLineStart) return [];
        // A last line ending in CR: the CR stays (MessageWriter keeps it too) and is then a bare CR.
        if (_last == (byte)'\r') IsWireForm = false;
        Length += 2;
        return "\r\n"u8;
    }
}
