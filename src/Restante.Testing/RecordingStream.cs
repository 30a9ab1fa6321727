namespace Restante.Testing;

/// <summary>
/// The transport of one kit session: passes everything through, records it into the transcript,
/// and, when a throttle fault applies, paces what the server sends.
/// </summary>
internal sealed class RecordingStream(Stream inner, SessionTranscript transcript) : Stream
{
    /// <summary>False once TLS runs over this stream: the transcript then records the plaintext inside TLS.</summary>
    public bool Recording { get; set; } = true;

    /// <summary>At most this many bytes per second from the server; 0: no limit.</summary>
    public int BytesPerSecond { get; set; }

    public override bool CanRead => inner.CanRead;

    public override bool CanSeek => false;

    public override bool CanWrite => inner.CanWrite;

    public override long Length => throw new NotSupportedException();

    public override long Position
    {
        get => throw new NotSupportedException();
        set => throw new NotSupportedException();
    }

    public override int Read(byte[] buffer, int offset, int count)
    {
        var read = inner.Read(buffer, offset, count);
        if (Recording) transcript.RecordFromClient(buffer.AsSpan(offset, read));
        return read;
    }

    public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
    {
        var read = await inner.ReadAsync(buffer, cancellationToken).ConfigureAwait(false);
        if (Recording) transcript.RecordFromClient(buffer.Span[..read]);
        return read;
    }

    public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken)
        => ReadAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

    public override void Write(byte[] buffer, int offset, int count)
        => WriteAsync(buffer.AsMemory(offset, count)).AsTask().GetAwaiter().GetResult();

    public override async ValueTask WriteAsync(ReadOnlyMemory<byte> buffer, CancellationToken cancellationToken = default)
    {
        if (Recording) transcript.RecordFromServer(buffer.Span);
        var rate = BytesPerSecond;
        if (rate <= 0)
        {
            await inner.WriteAsync(buffer, cancellationToken).ConfigureAwait(false);
            return;
        }
        // Twenty slices a second: smooth enough that a client sees a slow link, not bursts and pauses.
        var slice = Math.Max(1, rate / 20);
        while (!buffer.IsEmpty)
        {
            var part = buffer[..Math.Min(slice, buffer.Length)];
            await inner.WriteAsync(part, cancellationToken).ConfigureAwait(false);
            await inner.FlushAsync(cancellationToken).ConfigureAwait(false);
            buffer = buffer[part.Length..];
            await Task.Delay(TimeSpan.FromSeconds((double)part.Length / rate), cancellationToken).ConfigureAwait(false);
        }
    }

    public override Task WriteAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken)
        => WriteAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

    public override void Flush() => inner.Flush();

    public override Task FlushAsync(CancellationToken cancellationToken) => inner.FlushAsync(cancellationToken);

    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

    public override void SetLength(long value) => throw new NotSupportedException();
}
