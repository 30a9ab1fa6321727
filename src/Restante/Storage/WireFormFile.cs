using Restante.Storage.Maildir;

namespace Restante.Storage;

/// <summary>
/// A stored message whose file holds exactly the octets RETR sends between "+OK" and the final "." line (CRLF line
/// ends, nothing to byte-stuff), and that the store has checked the mailbox's user cannot have written. A plain
/// connection may hand <see cref="File"/>'s descriptor to sendfile(2); anything else reads it like any other message stream.
/// </summary>
internal sealed class WireFormFile(MessageFileStream file, long length) : Stream
{
    /// <summary>The open file, at offset 0 until read.</summary>
    public MessageFileStream File => file;

    public override bool CanRead => true;
    public override bool CanSeek => true;
    public override bool CanWrite => false;
    public override long Length => length;
    public override long Position { get => file.Position; set => file.Position = value; }

    public override int Read(byte[] buffer, int offset, int count) => file.Read(buffer, offset, count);
    public override int Read(Span<byte> buffer) => file.Read(buffer);
    public override ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default) => file.ReadAsync(buffer, cancellationToken);
    public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) => file.ReadAsync(buffer, offset, count, cancellationToken);
    public override long Seek(long offset, SeekOrigin origin) => file.Seek(offset, origin);
    public override void Flush() { }
    public override void SetLength(long value) => throw new NotSupportedException();
    public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();

    protected override void Dispose(bool disposing)
    {
        if (disposing) file.Dispose();
        base.Dispose(disposing);
    }

    public override ValueTask DisposeAsync() => file.DisposeAsync();
}
