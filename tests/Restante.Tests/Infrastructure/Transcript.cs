using System.Net;
using System.Net.Security;
using System.Net.Sockets;
using System.Security.Authentication;
using System.Text;

namespace Restante.Tests.Infrastructure;

/// <summary>A raw POP3 conversation over a real socket, for asserting on exact bytes.</summary>
internal sealed class Transcript : IAsyncDisposable
{
    private static readonly TimeSpan s_timeout = TimeSpan.FromSeconds(15);
    private readonly TcpClient _client;
    private Stream _stream;
    private byte[] _buffer = new byte[64 * 1024];
    private int _start;
    private int _end;

    private Transcript(TcpClient client)
    {
        _client = client;
        _stream = client.GetStream();
    }

    /// <param name="localAddress">The source address to connect from; null lets the system choose.</param>
    public static async Task<Transcript> ConnectAsync(IPEndPoint endPoint, IPAddress? localAddress = null)
    {
        var client = localAddress is null ? new TcpClient(endPoint.AddressFamily) : new TcpClient(new IPEndPoint(localAddress, 0));
        await client.ConnectAsync(endPoint);
        return new Transcript(client);
    }

    /// <summary>Connects and handshakes at once, as a POP3S (implicit TLS) client does.</summary>
    public static async Task<Transcript> ConnectTlsAsync(IPEndPoint endPoint, RemoteCertificateValidationCallback validate, IPAddress? localAddress = null)
    {
        var transcript = await ConnectAsync(endPoint, localAddress);
        await transcript.StartTlsAsync(validate);
        return transcript;
    }

    /// <summary>The TLS stream once <see cref="StartTlsAsync"/> has run.</summary>
    public SslStream? Tls { get; private set; }

    /// <summary>
    /// Handshakes on the connection as it is (after STLS's +OK has been read). A client must not have
    /// read anything the server sent after that +OK: there must be nothing, so this asserts it.
    /// </summary>
    public async Task StartTlsAsync(RemoteCertificateValidationCallback validate, SslProtocols protocols = SslProtocols.None)
    {
        Assert.Equal(_start, _end);
        var tls = new SslStream(_stream, leaveInnerStreamOpen: false, validate);
        using var cts = new CancellationTokenSource(s_timeout);
        await tls.AuthenticateAsClientAsync(new SslClientAuthenticationOptions
        {
            TargetHost = "localhost",
            EnabledSslProtocols = protocols,
        }, cts.Token);
        _stream = tls;
        Tls = tls;
    }

    public Task SendAsync(string line) => SendRawAsync(Encoding.Latin1.GetBytes(line + "\r\n"));

    public async Task SendRawAsync(byte[] bytes)
    {
        using var cts = new CancellationTokenSource(s_timeout);
        await _stream.WriteAsync(bytes, cts.Token);
    }

    /// <summary>Reads one line without its CRLF; null when the server closed the connection.</summary>
    public async Task<string?> ReadLineAsync()
    {
        var bytes = await ReadLineBytesAsync();
        return bytes is null ? null : Encoding.Latin1.GetString(bytes);
    }

    /// <summary>Reads one line including its line end exactly as sent; null at end of stream.</summary>
    public async Task<byte[]?> ReadLineBytesAsync()
    {
        while (true)
        {
            var lf = Array.IndexOf(_buffer, (byte)'\n', _start, _end - _start);
            if (lf >= 0)
            {
                var line = _buffer[_start..(lf + 1)];
                _start = lf + 1;
                return line.Length >= 2 && line[^2] == '\r' ? line[..^2] : line[..^1];
            }
            if (!await FillAsync()) return null;
        }
    }

    public async Task<string> ExpectAsync(string prefix)
    {
        var line = await ReadLineAsync();
        Assert.NotNull(line);
        Assert.StartsWith(prefix, line, StringComparison.Ordinal);
        return line;
    }

    /// <summary>Reads the body of a multi-line reply up to and excluding the "." line, lines still byte-stuffed.</summary>
    public async Task<List<string>> ReadMultiLineAsync()
    {
        var lines = new List<string>();
        while (true)
        {
            var line = await ReadLineAsync();
            Assert.NotNull(line);
            if (line == ".") return lines;
            lines.Add(line);
        }
    }

    /// <summary>Reads raw bytes up to and including the terminating CRLF.CRLF of a multi-line reply body.</summary>
    public async Task<byte[]> ReadRawBodyAsync()
    {
        var collected = new MemoryStream();
        var atLineStart = true;
        while (true)
        {
            var line = await ReadLineRawAsync();
            Assert.NotNull(line);
            collected.Write(line);
            if (atLineStart && line.AsSpan().SequenceEqual(".\r\n"u8)) return collected.ToArray();
            atLineStart = line[^1] == '\n';
        }
    }

    private async Task<byte[]?> ReadLineRawAsync()
    {
        while (true)
        {
            var lf = Array.IndexOf(_buffer, (byte)'\n', _start, _end - _start);
            if (lf >= 0)
            {
                var line = _buffer[_start..(lf + 1)];
                _start = lf + 1;
                return line;
            }
            if (!await FillAsync()) return null;
        }
    }

    /// <summary>
    /// Reads a multi-line reply body to its terminating CRLF.CRLF without keeping it, failing after
    /// <paramref name="deadline"/>. Returns the octets read (the final ".\r\n" included) and the
    /// longest time spent waiting for the next bytes.
    /// </summary>
    public async Task<(long Octets, TimeSpan LongestWait)> DrainMultiLineAsync(TimeSpan deadline)
    {
        long octets = 0;
        using var cts = new CancellationTokenSource(deadline);
        var tail = new byte[5];
        var longest = TimeSpan.Zero;
        var watch = System.Diagnostics.Stopwatch.StartNew();
        // Whatever is already buffered counts, with the CRLF before it (the +OK line ended with one).
        var seen = 2;
        tail[3] = (byte)'\r';
        tail[4] = (byte)'\n';
        while (true)
        {
            for (var i = _start; i < _end; i++)
            {
                Buffer.BlockCopy(tail, 1, tail, 0, 4);
                tail[4] = _buffer[i];
                seen++;
                octets++;
                if (seen >= 5 && tail.AsSpan().SequenceEqual("\r\n.\r\n"u8))
                {
                    _start = i + 1;
                    return (octets, longest);
                }
            }
            _start = _end = 0;
            var before = watch.Elapsed;
            var read = await _stream.ReadAsync(_buffer, cts.Token);
            var waited = watch.Elapsed - before;
            if (waited > longest) longest = waited;
            if (read == 0) throw new EndOfStreamException("The server closed the connection in the middle of a reply.");
            _end = read;
        }
    }

    /// <summary>
    /// Reads like a client on a slow link: at most <paramref name="bytesPerRead"/> octets, then a pause, until the server
    /// closes the connection, the reply ends (CRLF.CRLF seen) or <paramref name="deadline"/> passes. Returns the octets
    /// read and whether the server closed the connection before the reply ended.
    /// </summary>
    public async Task<(long Octets, bool Closed)> ReadSlowlyAsync(int bytesPerRead, TimeSpan pause, TimeSpan deadline)
    {
        var watch = System.Diagnostics.Stopwatch.StartNew();
        long octets = _end - _start;
        _start = _end = 0;
        var chunk = new byte[bytesPerRead];
        var tail = 0u;   // the last four octets read, to see the end of the reply
        while (watch.Elapsed < deadline)
        {
            int read;
            try
            {
                using var cts = new CancellationTokenSource(s_timeout);
                read = await _stream.ReadAsync(chunk, cts.Token);
            }
            catch (IOException)
            {
                return (octets, true);
            }
            if (read == 0) return (octets, true);
            octets += read;
            for (var i = 0; i < read; i++) tail = (tail << 8) | chunk[i];
            if (tail == 0x0A2E0D0A) return (octets, false);   // "\n.\r\n": dot-stuffing leaves no other
            await Task.Delay(pause);
        }
        return (octets, false);
    }

    /// <summary>True when the server has closed the connection (reads end of stream within the timeout).</summary>
    public async Task<bool> IsClosedAsync()
    {
        try
        {
            while (await FillAsync())
            {
                _start = _end;
            }
            return true;
        }
        catch (IOException)
        {
            return true;
        }
    }

    private async Task<bool> FillAsync()
    {
        if (_start > 0)
        {
            Array.Copy(_buffer, _start, _buffer, 0, _end - _start);
            _end -= _start;
            _start = 0;
        }
        // Lines longer than a server's read buffer are test cases too (RetrBytesTests); a runaway stops at 16 MB.
        if (_end == _buffer.Length && _buffer.Length >= 16 * 1024 * 1024) throw new InvalidOperationException("Line longer than the test buffer.");
        if (_end == _buffer.Length) Array.Resize(ref _buffer, _buffer.Length * 2);
        using var cts = new CancellationTokenSource(s_timeout);
        var read = await _stream.ReadAsync(_buffer.AsMemory(_end), cts.Token);
        if (read == 0) return false;
        _end += read;
        return true;
    }

    /// <summary>Half-closes: the server reads end of input (FIN) and may still write; reading goes on here.</summary>
    public void EndSending() => _client.Client.Shutdown(SocketShutdown.Send);

    public void Abort()
    {
        _client.Client.LingerState = new LingerOption(true, 0);
        _client.Dispose();
    }

    public ValueTask DisposeAsync()
    {
        Tls?.Dispose();
        _client.Dispose();
        return ValueTask.CompletedTask;
    }
}
