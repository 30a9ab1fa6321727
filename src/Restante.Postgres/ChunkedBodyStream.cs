using System.Buffers;

namespace Restante.Postgres;

/// <summary>
/// A stored body read a few rows at a time (about <see cref="PostgresStoreOptions.ChunkSize"/> octets per
/// statement), one short statement when the reader asks for more: a slow POP3 client holds no
/// transaction and no connection between statements. The rows land in one pooled buffer, returned
/// on dispose: no array per row or per message.
/// </summary>
internal sealed class ChunkedBodyStream(PostgresMailStore store, long bodyId, long length) : Stream
{
    private byte[] _buffer = [];
    private int _filled;
    private int _offset;
    private int _nextSeq;
    // The position of _buffer[0] in the body.
    private long _bufferStart;
    private long _position;

    public override bool CanRead => true;

    // Seekable so that a caller who peeks at the header (DowngradedMessage, RFC 6856) can go back to
    // the start instead of replaying what it read through a copy; see Seek for the positions it takes.
    public override bool CanSeek => true;

    public override bool CanWrite => false;

    public override long Length => length;

    public override long Position
    {
        get => _position;
        set => Seek(value, SeekOrigin.Begin);
    }

    /// <summary>Reads the first rows now (nothing for an empty body).</summary>
    public async ValueTask FetchFirstAsync(CancellationToken cancellationToken)
    {
        if (length > 0 && _nextSeq == 0) await FetchAsync(cancellationToken).ConfigureAwait(false);
    }

    private async ValueTask FetchAsync(CancellationToken cancellationToken)
    {
        // The read overwrites the buffer: it holds nothing from here until it succeeds, so a failed read leaves
        // position, buffer start and contents agreeing (a seek back into the old rows fetches them again).
        _bufferStart += _filled;
        _filled = 0;
        _offset = 0;
        var (rows, filled) = await store.ReadRowsAsync(bodyId, _nextSeq, this, cancellationToken).ConfigureAwait(false);
        if (rows == 0) throw new IOException($"Chunk {_nextSeq} of body {bodyId} is missing.");
        if (filled == 0) throw new IOException($"Chunk {_nextSeq} of body {bodyId} is empty.");
        _nextSeq += rows;
        _filled = filled;
        _offset = 0;
    }

    /// <summary>The buffer the store reads the next rows into, at least <paramref name="size"/> octets, keeping the first <paramref name="keep"/>.</summary>
    internal byte[] RentBuffer(int size, int keep)
    {
        if (_buffer.Length >= size) return _buffer;
        var bigger = ArrayPool<byte>.Shared.Rent(size);
        _buffer.AsSpan(0, keep).CopyTo(bigger);
        if (_buffer.Length > 0) ArrayPool<byte>.Shared.Return(_buffer);
        return _buffer = bigger;
    }

    public override int Read(byte[] buffer, int offset, int count) => ReadAsync(buffer.AsMemory(offset, count)).AsTask().GetAwaiter().GetResult();

    public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
    {
        if (buffer.IsEmpty || _position >= length) return 0;
        if (_offset == _filled) await FetchAsync(cancellationToken).ConfigureAwait(false);
        var n = Math.Min(buffer.Length, _filled - _offset);
        _buffer.AsMemory(_offset, n).CopyTo(buffer);
        _offset += n;
        _position += n;
        return n;
    }

    public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken)
        => ReadAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

    /// <summary>
    /// Moves within the rows held now (no statement), or back to the start of the body (the next read
    /// fetches from the first row again). Other positions would need the row layout, which a reader
    /// of a POP3 message never asks for.
    /// </summary>
    public override long Seek(long offset, SeekOrigin origin)
    {
        var target = origin switch
        {
            SeekOrigin.Begin => offset,
            SeekOrigin.Current => _position + offset,
            _ => length + offset,
        };
        if (target >= _bufferStart && target <= _bufferStart + _filled)
        {
            _offset = (int)(target - _bufferStart);
        }
        else if (target == 0)
        {
            _nextSeq = 0;
            _bufferStart = 0;
            _filled = 0;
            _offset = 0;
        }
        else
        {
            throw new NotSupportedException("A stored body seeks only within the rows it holds, or back to its start.");
        }
        return _position = target;
    }

    public override void Flush()
    {
    }

    public override void SetLength(long value) => throw new NotSupportedException();

    public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();

    protected override void Dispose(bool disposing)
    {
        if (disposing && _buffer.Length > 0)
        {
            ArrayPool<byte>.Shared.Return(_buffer);
            _buffer = [];
            _filled = 0;
            _offset = 0;
        }
        base.Dispose(disposing);
    }
}
