using System.Buffers;
using Microsoft.Win32.SafeHandles;

namespace Restante.Delivery;

/// <summary>
/// A message on its way in: written once to a spool file as it arrives (never held in memory
/// whole), then read back once per recipient, each copy with its own trace headers in front. The
/// file is unlinked as soon as it is created, so a crash or kill leaves nothing behind and no
/// other process can see it; it lives until the handle is closed.
/// </summary>
public sealed class MessageSpool : IDisposable
{
    // Large enough that a 1 MB message is 16 writes; one line (1000 octets) always fits after a flush.
    private const int BufferSize = 64 * 1024;

    private readonly FileStream _file;
    private byte[] _buffer;
    private int _used;

    private MessageSpool(FileStream file)
    {
        _file = file;
        _buffer = ArrayPool<byte>.Shared.Rent(BufferSize);
    }

    /// <summary>Octets in the message so far (as stored: LF line ends).</summary>
    public long Length { get; private set; }

    /// <summary>Room left in the write buffer; the caller flushes when a line would not fit.</summary>
    public int Free => _buffer.Length - _used;

    public static MessageSpool Create(string directory)
    {
        if (!Directory.Exists(directory))
        {
            if (OperatingSystem.IsWindows()) Directory.CreateDirectory(directory);
            else Directory.CreateDirectory(directory, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        }
        var path = Path.Combine(directory, "restante-spool-" + Path.GetRandomFileName());
        var options = new FileStreamOptions
        {
            Mode = FileMode.CreateNew,
            Access = FileAccess.ReadWrite,
            Share = FileShare.None,
            BufferSize = 0,
            Options = OperatingSystem.IsWindows() ? FileOptions.DeleteOnClose : FileOptions.None,
        };
        if (!OperatingSystem.IsWindows()) options.UnixCreateMode = UnixFileMode.UserRead | UnixFileMode.UserWrite;
        var file = new FileStream(path, options);
        try
        {
            // Unlinked at once: the open handle keeps the data, and no crash can leave it behind.
            if (!OperatingSystem.IsWindows()) File.Delete(path);
        }
        catch
        {
            file.Dispose();
            throw;
        }
        return new MessageSpool(file);
    }

    /// <summary>Appends one line and a LF (Maildir stores LF line ends, as Postfix and Dovecot write them).</summary>
    public void AppendLine(in ReadOnlySequence<byte> line)
    {
        var needed = checked((int)line.Length + 1);
        if (needed > Free) throw new InvalidOperationException("Flush the spool before appending.");
        line.CopyTo(_buffer.AsSpan(_used));
        _used += (int)line.Length;
        _buffer[_used++] = (byte)'\n';
        Length += needed;
    }

    /// <summary>Appends raw octets, as read from a pipe (restante deliver).</summary>
    public async ValueTask AppendAsync(ReadOnlyMemory<byte> chunk, CancellationToken cancellationToken)
    {
        while (!chunk.IsEmpty)
        {
            if (Free == 0) await FlushAsync(cancellationToken).ConfigureAwait(false);
            var n = Math.Min(Free, chunk.Length);
            chunk.Span[..n].CopyTo(_buffer.AsSpan(_used));
            _used += n;
            Length += n;
            chunk = chunk[n..];
        }
    }

    /// <summary>Writes the buffered octets to the file. No fsync: the spool is not the durable copy.</summary>
    public async ValueTask FlushAsync(CancellationToken cancellationToken)
    {
        if (_used == 0) return;
        await _file.WriteAsync(_buffer.AsMemory(0, _used), cancellationToken).ConfigureAwait(false);
        _used = 0;
    }

    /// <summary>
    /// A stream of <paramref name="prefix"/> followed by the spooled message, from the start. Each
    /// call gives an independent reader; the spool must have been flushed.
    /// </summary>
    public Stream OpenRead(ReadOnlyMemory<byte> prefix)
    {
        if (_used != 0) throw new InvalidOperationException("Flush the spool before reading it.");
        return new SpooledMessageStream(prefix, _file.SafeFileHandle, Length);
    }

    public void Dispose()
    {
        _file.Dispose();
        var buffer = Interlocked.Exchange(ref _buffer, []);
        if (buffer.Length > 0) ArrayPool<byte>.Shared.Return(buffer);
    }

    /// <summary>Reads the prefix, then the file by offset, so several readers never share a file position.</summary>
    private sealed class SpooledMessageStream(ReadOnlyMemory<byte> prefix, SafeFileHandle file, long length) : Stream
    {
        private long _position;

        public override bool CanRead => true;
        public override bool CanSeek => false;
        public override bool CanWrite => false;
        public override long Length => prefix.Length + length;

        public override long Position
        {
            get => _position;
            set => throw new NotSupportedException();
        }

        public override int Read(byte[] buffer, int offset, int count) => Read(buffer.AsSpan(offset, count));

        public override int Read(Span<byte> buffer)
        {
            if (_position < prefix.Length) return FromPrefix(buffer);
            var remaining = length - (_position - prefix.Length);
            if (remaining <= 0 || buffer.IsEmpty) return 0;
            var read = RandomAccess.Read(file, buffer[..(int)Math.Min(buffer.Length, remaining)], _position - prefix.Length);
            _position += read;
            return read;
        }

        public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken)
            => ReadAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

        public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
        {
            if (_position < prefix.Length) return FromPrefix(buffer.Span);
            var remaining = length - (_position - prefix.Length);
            if (remaining <= 0 || buffer.IsEmpty) return 0;
            var read = await RandomAccess.ReadAsync(file, buffer[..(int)Math.Min(buffer.Length, remaining)], _position - prefix.Length, cancellationToken).ConfigureAwait(false);
            _position += read;
            return read;
        }

        private int FromPrefix(Span<byte> buffer)
        {
            var n = (int)Math.Min(buffer.Length, prefix.Length - _position);
            prefix.Span.Slice((int)_position, n).CopyTo(buffer);
            _position += n;
            return n;
        }

        public override void Flush()
        {
        }

        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
        public override void SetLength(long value) => throw new NotSupportedException();
        public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();
    }
}
