using System.Buffers;
using Restante.Protocol;

namespace Restante.Pop3.Utf8;

/// <summary>
/// The message a session that did not send UTF8 receives (RFC 6856 §2.1): as stored when its header is ASCII or
/// legacy 8-bit, with the header downgraded by <see cref="HeaderDowngrade"/> when it holds raw UTF-8, or refused
/// (the caller answers -ERR [UTF8], §5) when the header cannot be expressed in ASCII or does not end within
/// <see cref="MaxHeader"/> octets. Only the header is held in memory, so a message costs at most that much extra.
/// </summary>
internal static class DowngradedMessage
{
    /// <summary>The most of a header this reads to downgrade it; beyond it an 8-bit header is refused.</summary>
    public const int MaxHeader = 64 * 1024;

    /// <param name="Message">What to send; null when refused.</param>
    /// <param name="SizeChange">Octets the downgrade added to the CRLF size (RETR's "+OK n octets" says the real count).</param>
    public readonly record struct Prepared(Stream? Message, long SizeChange);

    /// <summary>
    /// True when the start of a message, already read, proves its header needs no downgrade (the header ends within it,
    /// or it is the first <see cref="MaxHeader"/> octets, and holds no 8-bit octet), so the caller can send what it read
    /// without a second read; false when only <see cref="PrepareAsync"/> can tell.
    /// </summary>
    public static bool IsUnchanged(ReadOnlySpan<byte> start)
    {
        var probe = start.Length > MaxHeader ? start[..MaxHeader] : start;
        var headerLength = HeaderDowngrade.HeaderLength(probe);
        if (headerLength < 0 && probe.Length < MaxHeader) return false;   // the header may go on past what was read
        var header = headerLength >= 0 ? probe[..headerLength] : probe;
        return header.IndexOfAnyInRange((byte)0x80, (byte)0xFF) < 0;
    }

    public static async ValueTask<Prepared> PrepareAsync(Stream message, CancellationToken cancellationToken)
    {
        var buffer = ArrayPool<byte>.Shared.Rent(MaxHeader);
        var owned = true;
        try
        {
            var filled = 0;
            var headerLength = -1;
            while (filled < MaxHeader)
            {
                var read = await message.ReadAsync(buffer.AsMemory(filled, MaxHeader - filled), cancellationToken).ConfigureAwait(false);
                if (read == 0) break;
                filled += read;
                headerLength = HeaderDowngrade.HeaderLength(buffer.AsSpan(0, filled));
                if (headerLength >= 0) break;
            }
            var seen = buffer.AsSpan(0, filled);
            // A message without an empty line is all header (RFC 5322 §2.1: the body is optional).
            var header = headerLength >= 0 ? seen[..headerLength] : filled < MaxHeader ? seen : default;
            if (headerLength < 0 && filled >= MaxHeader)
            {
                if (seen.IndexOfAnyInRange((byte)0x80, (byte)0xFF) >= 0) return new Prepared(null, 0);
                return new Prepared(Rewind(message, buffer, filled, ref owned), 0);
            }
            var outcome = HeaderDowngrade.TryDowngrade(header, out var downgraded);
            if (outcome == HeaderDowngrade.Outcome.Impossible) return new Prepared(null, 0);
            if (outcome == HeaderDowngrade.Outcome.Unchanged) return new Prepared(Rewind(message, buffer, filled, ref owned), 0);
            // Count both headers as they will be sent (MessageOctets: bare LF gains a CR, an unterminated last line its
            // CRLF): the downgrade writes CRLF after every field it rewrites but copies the others as they are.
            var change = MessageOctets.Count(downgraded) - MessageOctets.Count(header);
            var rest = seen[header.Length..].ToArray();
            return new Prepared(new ConcatenatedStream(downgraded, rest, message), change);
        }
        finally
        {
            if (owned) ArrayPool<byte>.Shared.Return(buffer);
        }
    }

    /// <summary>The message from its first octet again: seek back when it can (a file), else replay what was read.</summary>
    private static Stream Rewind(Stream message, byte[] buffer, int filled, ref bool owned)
    {
        if (message.CanSeek)
        {
            message.Seek(0, SeekOrigin.Begin);
            return message;
        }
        return new ConcatenatedStream(buffer.AsSpan(0, filled).ToArray(), [], message);
    }

    /// <summary>Two byte arrays, then the rest of a stream; disposing it disposes the stream.</summary>
    private sealed class ConcatenatedStream(byte[] first, byte[] second, Stream rest) : Stream
    {
        private int _position;

        public override bool CanRead => true;
        public override bool CanSeek => false;
        public override bool CanWrite => false;
        public override long Length => throw new NotSupportedException();
        public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }

        public override int Read(byte[] buffer, int offset, int count) => Read(buffer.AsSpan(offset, count));

        public override int Read(Span<byte> buffer)
        {
            var prefix = first.Length + second.Length;
            if (_position < prefix)
            {
                // Whole spans, not byte by byte: the prefix is up to 64 KiB read for the header check.
                var n = 0;
                if (_position < first.Length)
                {
                    n = Math.Min(buffer.Length, first.Length - _position);
                    first.AsSpan(_position, n).CopyTo(buffer);
                    _position += n;
                }
                if (n < buffer.Length && _position < prefix)
                {
                    var fromSecond = _position - first.Length;
                    var m = Math.Min(buffer.Length - n, second.Length - fromSecond);
                    second.AsSpan(fromSecond, m).CopyTo(buffer[n..]);
                    _position += m;
                    n += m;
                }
                return n;
            }
            return rest.Read(buffer);
        }

        public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
        {
            if (_position < first.Length + second.Length) return Read(buffer.Span);
            return await rest.ReadAsync(buffer, cancellationToken).ConfigureAwait(false);
        }

        public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken)
            => ReadAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

        public override void Flush() { }
        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
        public override void SetLength(long value) => throw new NotSupportedException();
        public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();

        protected override void Dispose(bool disposing)
        {
            if (disposing) rest.Dispose();
            base.Dispose(disposing);
        }

        public override ValueTask DisposeAsync() => rest.DisposeAsync();
    }
}
