using System.Buffers;
using System.Buffers.Text;
using System.Net;
using System.Net.Sockets;

namespace Restante.LoadGen;

/// <summary>A reply that was not what the mode expected, or a wire-level fault.</summary>
internal sealed class Pop3ProtocolException(string kind, string message) : Exception(message)
{
    public string Kind { get; } = kind;
}

/// <summary>
/// A tiny POP3 client over one socket: one pooled receive buffer, commands written from pre-encoded
/// bytes, replies parsed in place. No string is made per line; only failures allocate.
/// </summary>
internal sealed class Pop3Connection : IAsyncDisposable
{
    private readonly Socket _socket;
    private readonly Stream _stream;
    private readonly byte[] _buffer;
    private readonly byte[] _command = new byte[32];
    private int _start;
    private int _end;
    private int _lineStart;
    private int _lineLength;

    private Pop3Connection(Socket socket, Stream stream, int bufferSize)
    {
        _socket = socket;
        _stream = stream;
        _buffer = ArrayPool<byte>.Shared.Rent(bufferSize);
    }

    public static async ValueTask<Pop3Connection> ConnectAsync(EndPoint endPoint, TlsClient? tls, int bufferSize, CancellationToken ct, IPEndPoint? source = null)
    {
        var socket = new Socket(endPoint.AddressFamily, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
        try
        {
            // One source address has ~28k ephemeral ports towards one server port; more idle sessions
            // than that need more addresses (all of 127.0.0.0/8 is on the loopback interface).
            if (source is not null) socket.Bind(source);
            await socket.ConnectAsync(endPoint, ct).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is SocketException or OperationCanceledException)
        {
            socket.Dispose();
            throw new Pop3ProtocolException("connect", ex.Message);
        }
        Stream stream = new NetworkStream(socket, ownsSocket: false);
        bool? resumed = null;
        if (tls is not null)
        {
            // Implicit TLS (POP3S, RFC 8314): the handshake comes before the greeting.
            try
            {
                (stream, var wasResumed) = await tls.HandshakeAsync(stream, ct).ConfigureAwait(false);
                resumed = wasResumed;
            }
            catch (Exception ex) when (ex is IOException or System.Security.Authentication.AuthenticationException or OperationCanceledException)
            {
                await stream.DisposeAsync().ConfigureAwait(false);
                socket.Dispose();
                throw new Pop3ProtocolException("tls", ex.Message);
            }
        }
        return new Pop3Connection(socket, stream, bufferSize) { ResumedHandshake = resumed };
    }

    /// <summary>Null without TLS; otherwise whether the server resumed a session instead of a full handshake.</summary>
    public bool? ResumedHandshake { get; private init; }

    /// <summary>The last line read, CRLF excluded.</summary>
    public ReadOnlySpan<byte> Line => _buffer.AsSpan(_lineStart, _lineLength);

    public ValueTask SendAsync(ReadOnlyMemory<byte> command, CancellationToken ct) => _stream.WriteAsync(command, ct);

    /// <summary>Sends "VERB n\r\n" from a reused scratch buffer.</summary>
    public ValueTask SendAsync(ReadOnlySpan<byte> verb, int number, CancellationToken ct)
    {
        verb.CopyTo(_command);
        var n = verb.Length;
        _command[n++] = (byte)' ';
        Utf8Formatter.TryFormat(number, _command.AsSpan(n), out var written);
        n += written;
        _command[n++] = (byte)'\r';
        _command[n++] = (byte)'\n';
        return _stream.WriteAsync(_command.AsMemory(0, n), ct);
    }

    /// <summary>Reads one status line; throws unless it is +OK.</summary>
    public async ValueTask ExpectOkAsync(string what, CancellationToken ct)
    {
        await ReadLineAsync(ct).ConfigureAwait(false);
        if (!Line.StartsWith("+OK"u8))
            throw new Pop3ProtocolException("-ERR", $"{what}: {System.Text.Encoding.ASCII.GetString(Line[..Math.Min(Line.Length, 120)])}");
    }

    /// <summary>Reads "+OK count size" (STAT) and returns the count.</summary>
    public async ValueTask<long> ExpectStatAsync(CancellationToken ct)
    {
        await ExpectOkAsync("STAT", ct).ConfigureAwait(false);
        var rest = Line[3..].TrimStart((byte)' ');
        if (!Utf8Parser.TryParse(rest, out long count, out _)) throw new Pop3ProtocolException("protocol", "STAT reply without a count");
        return count;
    }

    public async ValueTask ReadLineAsync(CancellationToken ct)
    {
        while (true)
        {
            var available = _buffer.AsSpan(_start, _end - _start);
            var lf = available.IndexOf((byte)'\n');
            if (lf >= 0)
            {
                _lineStart = _start;
                _lineLength = lf > 0 && available[lf - 1] == (byte)'\r' ? lf - 1 : lf;
                if (_lineLength == lf) throw new Pop3ProtocolException("bare-lf", "reply line ended by a bare LF");
                _start += lf + 1;
                return;
            }
            if (_start > 0) Compact();
            if (_end == _buffer.Length) throw new Pop3ProtocolException("protocol", "reply line longer than the receive buffer");
            await FillAsync(ct).ConfigureAwait(false);
        }
    }

    /// <summary>
    /// Reads a multi-line listing ("n value" lines up to "."), calling <paramref name="onLine"/>
    /// for each. Returns the number of lines.
    /// </summary>
    public async ValueTask<int> ReadListingAsync(MessageSizes? sizes, CancellationToken ct)
    {
        var lines = 0;
        while (true)
        {
            await ReadLineAsync(ct).ConfigureAwait(false);
            var line = Line;
            if (line.Length == 1 && line[0] == (byte)'.') return lines;
            lines++;
            if (sizes is null) continue;
            var space = line.IndexOf((byte)' ');
            if (space < 0 || !Utf8Parser.TryParse(line[(space + 1)..], out long size, out _))
                throw new Pop3ProtocolException("protocol", "LIST line is not 'n size'");
            sizes.Add(size);
        }
    }

    /// <summary>
    /// Reads a RETR body up to the terminating ".", undoing the byte-stuffing, and returns its octet
    /// count (CRLF line ends, stuffing dots not counted): what LIST promised (RFC 1939 §7).
    /// </summary>
    public async ValueTask<long> ReadMessageAsync(CancellationToken ct)
    {
        long octets = 0;
        var atLineStart = true;
        byte last = (byte)'\n';
        while (true)
        {
            // Consume what is buffered.
            while (_start < _end)
            {
                if (atLineStart && _buffer[_start] == (byte)'.')
                {
                    // ".\r\n" ends the message; "." followed by anything else is a stuffing dot.
                    if (_end - _start < 3) break;
                    if (_buffer[_start + 1] == (byte)'\r' && _buffer[_start + 2] == (byte)'\n')
                    {
                        _start += 3;
                        return octets;
                    }
                    _start++;
                    last = (byte)'.';
                    atLineStart = false;
                    continue;
                }
                var chunk = _buffer.AsSpan(_start, _end - _start);
                var lf = chunk.IndexOf((byte)'\n');
                if (lf < 0)
                {
                    octets += chunk.Length;
                    last = chunk[^1];
                    _start = _end;
                    atLineStart = false;
                    break;
                }
                var before = lf > 0 ? chunk[lf - 1] : last;
                if (before != (byte)'\r') throw new Pop3ProtocolException("bare-lf", "message line ended by a bare LF");
                octets += lf + 1;
                _start += lf + 1;
                last = (byte)'\n';
                atLineStart = true;
            }
            if (_start == _end) { _start = 0; _end = 0; }
            else Compact();
            await FillAsync(ct).ConfigureAwait(false);
        }
    }

    /// <summary>After QUIT: waits for the server to close first, so TIME_WAIT stays on its side.</summary>
    public async ValueTask WaitForCloseAsync(CancellationToken ct)
    {
        try
        {
            _start = 0;
            _end = 0;
            while (await _stream.ReadAsync(_buffer.AsMemory(), ct).ConfigureAwait(false) > 0) { }
        }
        catch (IOException)
        {
            // A reset after QUIT is a close too.
        }
    }

    private void Compact()
    {
        _buffer.AsSpan(_start, _end - _start).CopyTo(_buffer);
        _end -= _start;
        _start = 0;
    }

    private async ValueTask FillAsync(CancellationToken ct)
    {
        var read = await _stream.ReadAsync(_buffer.AsMemory(_end), ct).ConfigureAwait(false);
        if (read == 0) throw new Pop3ProtocolException("eof", "server closed the connection");
        _end += read;
    }

    public async ValueTask DisposeAsync()
    {
        try
        {
            await _stream.DisposeAsync().ConfigureAwait(false);
        }
        catch (IOException)
        {
            // Closing a connection the server already reset.
        }
        _socket.Dispose();
        ArrayPool<byte>.Shared.Return(_buffer);
    }
}

/// <summary>A reusable list of LIST sizes (one per worker, grown once).</summary>
internal sealed class MessageSizes
{
    private long[] _items = new long[64];

    public int Count { get; private set; }

    public long this[int i] => _items[i];

    public void Clear() => Count = 0;

    public void Add(long size)
    {
        if (Count == _items.Length) Array.Resize(ref _items, _items.Length * 2);
        _items[Count++] = size;
    }
}
