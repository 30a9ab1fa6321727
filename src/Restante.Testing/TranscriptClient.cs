using System.Net;
using System.Net.Security;
using System.Net.Sockets;
using System.Text;

namespace Restante.Testing;

/// <summary>
/// A raw line-by-line client over a real socket, for tests that assert on exact bytes where a mail
/// library would hide them: <c>await c.SendAsync("RETR 1"); await c.ExpectAsync("+OK");</c>.
/// Every wait has a deadline (<see cref="Timeout"/>), so a server that says nothing fails the test instead of hanging it.
/// </summary>
public sealed class TranscriptClient : IAsyncDisposable
{
    private readonly TcpClient _client;
    private readonly byte[] _buffer = new byte[64 * 1024];
    private Stream _stream;
    private int _start;
    private int _end;

    private TranscriptClient(TcpClient client)
    {
        _client = client;
        _stream = client.GetStream();
    }

    /// <summary>How long one read or write may take; 15 seconds unless changed.</summary>
    public TimeSpan Timeout { get; set; } = TimeSpan.FromSeconds(15);

    /// <summary>Connects to <paramref name="endPoint"/>; nothing is read yet (not even the greeting).</summary>
    public static async Task<TranscriptClient> ConnectAsync(IPEndPoint endPoint, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(endPoint);
        var client = new TcpClient(endPoint.AddressFamily);
        try
        {
            await client.ConnectAsync(endPoint, cancellationToken).ConfigureAwait(false);
        }
        catch
        {
            client.Dispose();
            throw;
        }
        return new TranscriptClient(client);
    }

    /// <summary>Handshakes TLS on the connection as it is: right after connecting (POP3S) or after STLS's +OK.</summary>
    public async Task StartTlsAsync(RemoteCertificateValidationCallback validate, CancellationToken cancellationToken = default)
    {
        if (_start != _end) throw new InvalidOperationException("The server sent bytes after STLS's reply, before the handshake.");
        var tls = new SslStream(_stream, leaveInnerStreamOpen: false, validate);
        using var deadline = Deadline(cancellationToken);
        await tls.AuthenticateAsClientAsync(new SslClientAuthenticationOptions { TargetHost = "localhost" }, deadline.Token).ConfigureAwait(false);
        _stream = tls;
    }

    /// <summary>Sends <paramref name="line"/> and CRLF.</summary>
    public Task SendAsync(string line, CancellationToken cancellationToken = default)
        => SendRawAsync(Encoding.Latin1.GetBytes(line + "\r\n"), cancellationToken);

    /// <summary>Sends bytes exactly as given.</summary>
    public async Task SendRawAsync(byte[] bytes, CancellationToken cancellationToken = default)
    {
        using var deadline = Deadline(cancellationToken);
        await _stream.WriteAsync(bytes, deadline.Token).ConfigureAwait(false);
    }

    /// <summary>One line without its CRLF; null when the server has closed the connection.</summary>
    public async Task<string?> ReadLineAsync(CancellationToken cancellationToken = default)
    {
        while (true)
        {
            var lf = Array.IndexOf(_buffer, (byte)'\n', _start, _end - _start);
            if (lf >= 0)
            {
                var line = Encoding.Latin1.GetString(_buffer, _start, lf - _start).TrimEnd('\r');
                _start = lf + 1;
                return line;
            }
            if (await FillAsync(cancellationToken).ConfigureAwait(false) == 0) return null;
        }
    }

    /// <summary>Reads a line and throws unless it starts with <paramref name="prefix"/>; returns the line.</summary>
    public async Task<string> ExpectAsync(string prefix, CancellationToken cancellationToken = default)
    {
        var line = await ReadLineAsync(cancellationToken).ConfigureAwait(false);
        if (line is null || !line.StartsWith(prefix, StringComparison.Ordinal))
            throw new InvalidOperationException($"Expected a line starting with \"{prefix}\", got {(line is null ? "the end of the connection" : $"\"{line}\"")}.");
        return line;
    }

    /// <summary>The lines of a multi-line response up to its terminating ".", dot-unstuffed (RFC 1939 §3).</summary>
    public async Task<IReadOnlyList<string>> ReadMultilineAsync(CancellationToken cancellationToken = default)
    {
        var lines = new List<string>();
        while (true)
        {
            var line = await ReadLineAsync(cancellationToken).ConfigureAwait(false)
                ?? throw new InvalidOperationException("The connection ended inside a multi-line response.");
            if (line == ".") return lines;
            lines.Add(line.StartsWith('.') ? line[1..] : line);
        }
    }

    /// <summary>Every byte the server sends until it closes the connection, exactly as sent.</summary>
    public async Task<byte[]> ReadToEndAsync(CancellationToken cancellationToken = default)
    {
        using var all = new MemoryStream();
        all.Write(_buffer, _start, _end - _start);
        _start = _end = 0;
        while (await FillAsync(cancellationToken).ConfigureAwait(false) > 0)
        {
            all.Write(_buffer, _start, _end - _start);
            _start = _end = 0;
        }
        return all.ToArray();
    }

    private async Task<int> FillAsync(CancellationToken cancellationToken)
    {
        if (_start == _end) _start = _end = 0;
        if (_end == _buffer.Length)
        {
            if (_start == 0) throw new InvalidOperationException("A line longer than 64 KiB.");
            Buffer.BlockCopy(_buffer, _start, _buffer, 0, _end - _start);
            _end -= _start;
            _start = 0;
        }
        using var deadline = Deadline(cancellationToken);
        int read;
        try
        {
            read = await _stream.ReadAsync(_buffer.AsMemory(_end), deadline.Token).ConfigureAwait(false);
        }
        catch (IOException)
        {
            // A reset after the server hung up is the end of the connection for a test, like a clean close.
            return 0;
        }
        _end += read;
        return read;
    }

    private CancellationTokenSource Deadline(CancellationToken cancellationToken)
    {
        var source = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        source.CancelAfter(Timeout);
        return source;
    }

    /// <summary>Closes the connection without QUIT.</summary>
    public async ValueTask DisposeAsync()
    {
        await _stream.DisposeAsync().ConfigureAwait(false);
        _client.Dispose();
    }
}
