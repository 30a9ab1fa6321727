namespace Restante.Protocol;

/// <summary>
/// Counts the octets RETR sends for a stored message: bare LF becomes CRLF and a last line without
/// a line end gets one (RFC 1939 §11 sizes are counted that way, before byte-stuffing).
/// <see cref="MessageWriter"/> applies exactly the same rules, so LIST and RETR always agree.
/// </summary>
public struct MessageOctets
{
    private long _count;
    private byte _last;
    private bool _any;

    public void Add(ReadOnlySpan<byte> chunk)
    {
        if (chunk.IsEmpty) return;
        _count += chunk.Length;
        var previous = _last;
        var rest = chunk;
        while (true)
        {
            var lf = rest.IndexOf((byte)'\n');
            if (lf < 0) break;
            var before = lf > 0 ? rest[lf - 1] : previous;
            if (before != (byte)'\r') _count++;
            previous = (byte)'\n';
            rest = rest[(lf + 1)..];
        }
        _last = chunk[^1];
        _any = true;
    }

    /// <summary>The total, including the CRLF a final unterminated line will be given.</summary>
    public readonly long Total => _any && _last != (byte)'\n' ? _count + 2 : _count;

    public static long Count(ReadOnlySpan<byte> message)
    {
        var counter = new MessageOctets();
        counter.Add(message);
        return counter.Total;
    }

    public static async ValueTask<long> CountAsync(Stream message, CancellationToken cancellationToken)
    {
        var buffer = System.Buffers.ArrayPool<byte>.Shared.Rent(64 * 1024);
        try
        {
            var counter = new MessageOctets();
            int read;
            while ((read = await message.ReadAsync(buffer, cancellationToken).ConfigureAwait(false)) > 0)
                counter.Add(buffer.AsSpan(0, read));
            return counter.Total;
        }
        finally
        {
            System.Buffers.ArrayPool<byte>.Shared.Return(buffer);
        }
    }
}
