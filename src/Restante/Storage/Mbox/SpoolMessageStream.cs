using System.Buffers;
using Microsoft.Win32.SafeHandles;

namespace Restante.Storage.Mbox;

/// <summary>One message of the snapshot as stored, read by position from the session's descriptor and unquoted.</summary>
internal sealed class SpoolMessageStream : Stream
{
    private const int ChunkSize = 16 * 1024;

    private readonly SafeFileHandle _spool;
    private readonly long _end;
    private readonly FromQuoting _unquoter;
    private readonly byte[] _chunk = new byte[ChunkSize];
    private readonly ArrayBufferWriter<byte> _pending = new(ChunkSize + 64);
    private long _position;
    private int _served;
    private bool _completed;

    public SpoolMessageStream(SafeFileHandle spool, long start, long end, MboxVariant variant)
    {
        _spool = spool;
        _position = start;
        _end = end;
        _unquoter = FromQuoting.Unquoter(variant);
    }

    public override int Read(byte[] buffer, int offset, int count) => Read(buffer.AsSpan(offset, count));

    public override int Read(Span<byte> buffer)
    {
        while (_served == _pending.WrittenCount)
        {
            if (_completed) return 0;
            _pending.ResetWrittenCount();
            _served = 0;
            var read = _position < _end ? RandomAccess.Read(_spool, _chunk.AsSpan(0, (int)Math.Min(ChunkSize, _end - _position)), _position) : 0;
            if (read <= 0)
            {
                _unquoter.Complete(_pending);
                _completed = true;
                continue;
            }
            _position += read;
            _unquoter.Transform(_chunk.AsSpan(0, read), _pending);
        }
        var available = _pending.WrittenSpan[_served..];
        var n = Math.Min(available.Length, buffer.Length);
        available[..n].CopyTo(buffer);
        _served += n;
        return n;
    }

    public override ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
    {
        cancellationToken.ThrowIfCancellationRequested();
        return ValueTask.FromResult(Read(buffer.Span));
    }

    public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken)
        => ReadAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

    public override bool CanRead => true;
    public override bool CanSeek => false;
    public override bool CanWrite => false;
    public override long Length => throw new NotSupportedException();
    public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }
    public override void Flush() { }
    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
    public override void SetLength(long value) => throw new NotSupportedException();
    public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();
}
