namespace Restante.Postgres;

/// <summary>
/// A stored body read chunk by chunk, one short statement per chunk when the reader asks for
/// more: a slow POP3 client holds no transaction and no connection between chunks.
/// </summary>
internal sealed class ChunkedBodyStream(PostgresMailStore store, long bodyId, long length) : Stream
{
    private byte[] _chunk = [];
    private int _offset;
    private int _nextSeq;
    private long _position;

    public override bool CanRead => true;

    public override bool CanSeek => false;

    public override bool CanWrite => false;

    public override long Length => length;

    public override long Position
    {
        get => _position;
        set => throw new NotSupportedException();
    }

    /// <summary>Reads the first chunk now (nothing for an empty body).</summary>
    public async ValueTask FetchFirstAsync(CancellationToken cancellationToken)
    {
        if (length > 0 && _nextSeq == 0) await NextChunkAsync(cancellationToken).ConfigureAwait(false);
    }

    private async ValueTask NextChunkAsync(CancellationToken cancellationToken)
    {
        _chunk = await store.ReadChunkAsync(bodyId, _nextSeq, cancellationToken).ConfigureAwait(false)
            ?? throw new IOException($"Chunk {_nextSeq} of body {bodyId} is missing.");
        if (_chunk.Length == 0) throw new IOException($"Chunk {_nextSeq} of body {bodyId} is empty.");
        _nextSeq++;
        _offset = 0;
    }

    public override int Read(byte[] buffer, int offset, int count) => ReadAsync(buffer.AsMemory(offset, count)).AsTask().GetAwaiter().GetResult();

    public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
    {
        if (buffer.IsEmpty || _position >= length) return 0;
        if (_offset == _chunk.Length) await NextChunkAsync(cancellationToken).ConfigureAwait(false);
        var n = Math.Min(buffer.Length, _chunk.Length - _offset);
        _chunk.AsMemory(_offset, n).CopyTo(buffer);
        _offset += n;
        _position += n;
        return n;
    }

    public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken)
        => ReadAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

    public override void Flush()
    {
    }

    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

    public override void SetLength(long value) => throw new NotSupportedException();

    public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();
}
