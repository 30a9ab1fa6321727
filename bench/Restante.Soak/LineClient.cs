using System.Net;
using System.Net.Sockets;
using System.Text;

namespace Restante.Soak;

/// <summary>A minimal line-oriented client for POP3 and LMTP over loopback, with a deadline on every read.</summary>
internal sealed class LineClient : IAsyncDisposable
{
    private readonly Socket _socket;
    private readonly NetworkStream _stream;
    private readonly byte[] _buffer = new byte[64 * 1024];
    private int _start;
    private int _end;

    private LineClient(Socket socket)
    {
        _socket = socket;
        _stream = new NetworkStream(socket, ownsSocket: true);
    }

    public static async Task<LineClient> ConnectAsync(IPEndPoint endPoint, CancellationToken ct)
    {
        var socket = new Socket(endPoint.AddressFamily, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
        try
        {
            await socket.ConnectAsync(endPoint, ct);
        }
        catch
        {
            socket.Dispose();
            throw;
        }
        return new LineClient(socket);
    }

    public Task SendAsync(string line, CancellationToken ct) => SendRawAsync(Encoding.Latin1.GetBytes(line + "\r\n"), ct);

    public async Task SendRawAsync(ReadOnlyMemory<byte> bytes, CancellationToken ct) => await _stream.WriteAsync(bytes, ct);

    public async Task<string> ReadLineAsync(CancellationToken ct)
    {
        while (true)
        {
            var lf = Array.IndexOf(_buffer, (byte)'\n', _start, _end - _start);
            if (lf >= 0)
            {
                var end = lf > _start && _buffer[lf - 1] == '\r' ? lf - 1 : lf;
                var line = Encoding.Latin1.GetString(_buffer, _start, end - _start);
                _start = lf + 1;
                return line;
            }
            if (_start > 0)
            {
                Array.Copy(_buffer, _start, _buffer, 0, _end - _start);
                _end -= _start;
                _start = 0;
            }
            if (_end == _buffer.Length) throw new IOException("line too long");
            var read = await _stream.ReadAsync(_buffer.AsMemory(_end), ct);
            if (read == 0) throw new EndOfStreamException();
            _end += read;
        }
    }

    /// <summary>Reads a multi-line body up to "."; returns the lines, un-stuffed.</summary>
    public async Task<List<string>> ReadMultiLineAsync(CancellationToken ct)
    {
        var lines = new List<string>();
        while (true)
        {
            var line = await ReadLineAsync(ct);
            if (line == ".") return lines;
            lines.Add(line.StartsWith('.') ? line[1..] : line);
        }
    }

    /// <summary>Closes with a TCP reset, the way a crashed client or a dropped network looks.</summary>
    public void Abort()
    {
        _socket.LingerState = new LingerOption(true, 0);
        _socket.Dispose();
    }

    public ValueTask DisposeAsync() => _stream.DisposeAsync();
}
