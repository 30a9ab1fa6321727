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

    public static ValueTask<long> CountAsync(Stream message, CancellationToken cancellationToken)
        => CountAsync(message, long.MaxValue, cancellationToken);

    /// <summary>
    /// Counts the first <paramref name="limit"/> octets of the stream at most (a stored file's
    /// length when it was opened, so a file that grows, or a device, cannot keep this reading).
    /// </summary>
    public static async ValueTask<long> CountAsync(Stream message, long limit, CancellationToken cancellationToken)
    {
        var buffer = System.Buffers.ArrayPool<byte>.Shared.Rent(64 * 1024);
        try
        {
            var counter = new MessageOctets();
            var left = limit;
            int read;
            while (left > 0 && (read = await message.ReadAsync(buffer.AsMemory(0, (int)Math.Min(buffer.Length, left)), cancellationToken).ConfigureAwait(false)) > 0)
            {
                counter.Add(buffer.AsSpan(0, read));
                left -= read;
                // A synchronous file stream does not look at the token once it has started.
                cancellationToken.ThrowIfCancellationRequested();
            }
            return counter.Total;
        }
        finally
        {
            System.Buffers.ArrayPool<byte>.Shared.Return(buffer);
        }
    }
}
