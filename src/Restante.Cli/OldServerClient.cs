using System.Globalization;
using System.Net.Security;
using System.Net.Sockets;
using System.Text;
using Restante.Storage.Maildir;

namespace Restante.Cli;

/// <summary>
/// The few POP3 commands <c>import-uidls</c> needs from the server being replaced (RFC 1939: USER,
/// PASS, LIST, UIDL, TOP, QUIT; RFC 2595: STLS). pop3s:// is TLS from the start; pop3:// is upgraded
/// with STLS when the server offers it, and a password goes in the clear only with --insecure.
/// </summary>
internal sealed class OldServerClient : IAsyncDisposable
{
    private readonly TcpClient _tcp;
    private Stream _stream;
    private StreamReader _reader;

    private OldServerClient(TcpClient tcp, Stream stream)
    {
        _tcp = tcp;
        _stream = stream;
        _reader = NewReader(stream);
    }

    private static StreamReader NewReader(Stream stream) => new(stream, Encoding.Latin1, false, 4096, leaveOpen: true);

    public static async Task<OldServerClient> ConnectAsync(Uri uri, bool insecure, CancellationToken cancellationToken)
    {
        var implicitTls = uri.Scheme == "pop3s";
        var port = uri.IsDefaultPort || uri.Port < 0 ? implicitTls ? 995 : 110 : uri.Port;
        var tcp = new TcpClient();
        await tcp.ConnectAsync(uri.Host, port, cancellationToken);
        Stream stream = tcp.GetStream();
        if (implicitTls) stream = await HandshakeAsync(stream, uri.Host, insecure, cancellationToken);
        var client = new OldServerClient(tcp, stream);
        await client.ExpectOkAsync(cancellationToken);
        if (!implicitTls)
        {
            var capabilities = await client.CommandMultiAsync("CAPA", cancellationToken, failOk: true);
            if (capabilities.Any(c => c.Equals("STLS", StringComparison.OrdinalIgnoreCase)))
            {
                await client.CommandAsync("STLS", cancellationToken);
                client._stream = await HandshakeAsync(client._stream, uri.Host, insecure, cancellationToken);
                client._reader = NewReader(client._stream);
            }
            else if (!insecure)
            {
                await client.DisposeAsync();
                throw new IOException($"{uri.Host} does not offer STLS: the password would cross the network in the clear. Use pop3s://, or --insecure on a network you trust.");
            }
        }
        return client;
    }

    private static async Task<Stream> HandshakeAsync(Stream inner, string host, bool insecure, CancellationToken cancellationToken)
    {
        var tls = new SslStream(inner, leaveInnerStreamOpen: false, (_, _, _, errors) => insecure || errors == SslPolicyErrors.None);
        await tls.AuthenticateAsClientAsync(new SslClientAuthenticationOptions { TargetHost = host }, cancellationToken);
        return tls;
    }

    public async Task LoginAsync(string user, string password, CancellationToken cancellationToken)
    {
        await CommandAsync($"USER {user}", cancellationToken);
        await CommandAsync($"PASS {password}", cancellationToken);
    }

    /// <summary>Every message: number, UIDL, LIST size, and the hash of its header from TOP n 0.</summary>
    public async Task<List<RemoteMessage>> ListMessagesAsync(CancellationToken cancellationToken)
    {
        var sizes = Pairs(await CommandMultiAsync("LIST", cancellationToken)).ToDictionary(p => p.Number, p => long.Parse(p.Value, CultureInfo.InvariantCulture));
        var uidls = Pairs(await CommandMultiAsync("UIDL", cancellationToken));
        var messages = new List<RemoteMessage>();
        foreach (var (number, uidl) in uidls)
        {
            var header = await CommandMultiAsync(string.Create(CultureInfo.InvariantCulture, $"TOP {number} 0"), cancellationToken);
            messages.Add(new RemoteMessage(number, uidl, sizes[number], UidlImport.HeaderHash(header)));
        }
        return messages;
    }

    public async Task QuitAsync(CancellationToken cancellationToken) => await CommandAsync("QUIT", cancellationToken);

    private static IEnumerable<(int Number, string Value)> Pairs(List<string> lines)
    {
        foreach (var line in lines)
        {
            var parts = line.Split(' ', 2, StringSplitOptions.TrimEntries);
            if (parts.Length == 2 && int.TryParse(parts[0], NumberStyles.None, CultureInfo.InvariantCulture, out var number)) yield return (number, parts[1]);
        }
    }

    private async Task<string> CommandAsync(string command, CancellationToken cancellationToken)
    {
        await _stream.WriteAsync(Encoding.Latin1.GetBytes(command + "\r\n"), cancellationToken);
        await _stream.FlushAsync(cancellationToken);
        return await ExpectOkAsync(cancellationToken, command.StartsWith("PASS ", StringComparison.Ordinal) ? "PASS" : command);
    }

    private async Task<string> ExpectOkAsync(CancellationToken cancellationToken, string? command = null)
    {
        var line = await _reader.ReadLineAsync(cancellationToken) ?? throw new IOException("The server closed the connection.");
        if (!line.StartsWith("+OK", StringComparison.Ordinal)) throw new IOException($"{command ?? "greeting"}: {line}");
        return line;
    }

    /// <summary>A multi-line reply's lines, dot-unstuffed (RFC 1939 §3); empty when <paramref name="failOk"/> and the server said -ERR.</summary>
    private async Task<List<string>> CommandMultiAsync(string command, CancellationToken cancellationToken, bool failOk = false)
    {
        try
        {
            await CommandAsync(command, cancellationToken);
        }
        catch (IOException) when (failOk)
        {
            return [];
        }
        var lines = new List<string>();
        while (await _reader.ReadLineAsync(cancellationToken) is { } line)
        {
            if (line == ".") return lines;
            lines.Add(line.StartsWith('.') ? line[1..] : line);
        }
        throw new IOException("The server closed the connection in the middle of a reply.");
    }

    public async ValueTask DisposeAsync()
    {
        _reader.Dispose();
        await _stream.DisposeAsync();
        _tcp.Dispose();
    }
}
