using System.Text;

namespace Restante.Fuzz;

/// <summary>Reads the fuzz input in small odd-sized pieces, then end of stream; keeps what the server writes.</summary>
internal sealed class FuzzTransport(Stream input) : Stream
{
    public MemoryStream Written { get; } = new();

    public override bool CanRead => true;
    public override bool CanSeek => false;
    public override bool CanWrite => true;
    public override long Length => throw new NotSupportedException();
    public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }
    public override void Flush() { }
    public override int Read(byte[] buffer, int offset, int count) => input.Read(buffer, offset, Math.Min(count, 97));
    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
    public override void SetLength(long value) => throw new NotSupportedException();
    public override void Write(byte[] buffer, int offset, int count) => Written.Write(buffer, offset, count);

    /// <summary>Every reply is a whole line: output that stops mid-line means a reply was cut short.</summary>
    public void CheckEndsWithCrlf()
    {
        var written = Written.ToArray();
        if (written.Length > 0 && !written.AsSpan().EndsWith("\r\n"u8))
            throw new InvalidOperationException("output does not end with CRLF: " + Encoding.Latin1.GetString(written[^Math.Min(40, written.Length)..]));
    }
}
