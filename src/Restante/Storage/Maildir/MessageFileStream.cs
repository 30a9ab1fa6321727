using Microsoft.Win32.SafeHandles;

namespace Restante.Storage.Maildir;

/// <summary>
/// A message file opened by <see cref="MessageFile"/>, read with pread(2) at an offset of its own
/// (<see cref="RandomAccess"/>) and never past the length fstat gave at open. A FileStream over a handle it did not
/// open moves the descriptor's offset with lseek around its reads (about three per RETR); this makes none. And the read
/// that fills the rest of the message is the last: the end is known, so no further read is made only to see 0 come
/// back. A file that grows after the open is read only up to its length then; one that shrinks ends where it ends.
/// </summary>
internal sealed class MessageFileStream(SafeFileHandle handle, Posix.FileStatus status) : Stream
{
    private readonly long _length = status.Length;
    private long _position;

    /// <summary>What fstat said at open (owner and mode for <see cref="WireForm.IsTrusted"/>, without a second fstat).</summary>
    public Posix.FileStatus Status => status;

    /// <summary>The open descriptor (for sendfile); owned by this stream.</summary>
    public SafeFileHandle Handle => handle;

    public override bool CanRead => !handle.IsClosed;
    public override bool CanSeek => !handle.IsClosed;
    public override bool CanWrite => false;

    /// <summary>The file's length at open.</summary>
    public override long Length => _length;

    public override long Position
    {
        get => _position;
        set
        {
            ArgumentOutOfRangeException.ThrowIfNegative(value);
            _position = value;
        }
    }

    public override int Read(byte[] buffer, int offset, int count) => Read(buffer.AsSpan(offset, count));

    public override int Read(Span<byte> buffer)
    {
        var left = _length - _position;
        if (left <= 0 || buffer.IsEmpty) return 0;
        if (buffer.Length > left) buffer = buffer[..(int)left];
        var read = PositionalRead.Read(handle, buffer, _position);   // no lseek first (see PositionalRead)
        _position += read;
        return read;
    }

    // A file in the page cache reads in microseconds: synchronously, as MessageSender reads it, not through a thread-pool hop.
    public override ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
    {
        if (cancellationToken.IsCancellationRequested) return ValueTask.FromCanceled<int>(cancellationToken);
        try
        {
            return ValueTask.FromResult(Read(buffer.Span));
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            return ValueTask.FromException<int>(ex);
        }
    }

    public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken)
        => ReadAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

    public override long Seek(long offset, SeekOrigin origin)
    {
        Position = origin switch
        {
            SeekOrigin.Begin => offset,
            SeekOrigin.Current => _position + offset,
            SeekOrigin.End => _length + offset,
            _ => throw new ArgumentOutOfRangeException(nameof(origin)),
        };
        return _position;
    }

    public override void Flush() { }
    public override void SetLength(long value) => throw new NotSupportedException();
    public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();

    protected override void Dispose(bool disposing)
    {
        if (disposing) handle.Dispose();
        base.Dispose(disposing);
    }
}
