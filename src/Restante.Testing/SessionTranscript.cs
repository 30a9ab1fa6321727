using System.Text;

namespace Restante.Testing;

/// <summary>
/// What one session said, both directions, line by line: <c>C: USER alice</c>, <c>S: +OK …</c>.
/// Secrets are redacted before they are stored: the PASS argument, the digest of APOP, and every
/// SASL response of AUTH. After a TLS handshake the plaintext inside TLS is recorded, never ciphertext.
/// </summary>
public sealed class SessionTranscript
{
    /// <summary>More lines than this are counted, not kept: a test that RETRs megabytes should not keep them twice.</summary>
    public const int MaxLines = 2000;

    private readonly Lock _lock = new();
    private readonly List<string> _lines = [];
    private readonly StringBuilder _client = new();
    private readonly StringBuilder _server = new();
    private bool _inSasl;
    private int _elided;
    private string? _endReason;

    internal SessionTranscript(long sessionId, string protocol)
    {
        SessionId = sessionId;
        Protocol = protocol;
    }

    /// <summary>The server's id of the session, as in its log lines.</summary>
    public long SessionId { get; }

    /// <summary>"POP3" or "POP3S" (implicit TLS).</summary>
    public string Protocol { get; }

    /// <summary>The user named by USER or logged in; null before that.</summary>
    public string? User { get; internal set; }

    /// <summary>Why the session ended ("quit", "client disconnected", …); null while it runs.</summary>
    public string? EndReason
    {
        get { lock (_lock) return _endReason; }
    }

    /// <summary>The recorded lines, "C: " for the client and "S: " for the server, line ends removed.</summary>
    public IReadOnlyList<string> Lines
    {
        get { lock (_lock) return [.. _lines]; }
    }

    internal void RecordFromClient(ReadOnlySpan<byte> bytes)
    {
        lock (_lock) Append(_client, bytes, fromClient: true);
    }

    internal void RecordFromServer(ReadOnlySpan<byte> bytes)
    {
        lock (_lock) Append(_server, bytes, fromClient: false);
    }

    internal void Note(string text)
    {
        lock (_lock) Add($"-- {text}");
    }

    internal void End(string reason)
    {
        lock (_lock)
        {
            if (_client.Length > 0) AddLine(_client, fromClient: true);
            if (_server.Length > 0) AddLine(_server, fromClient: false);
            _endReason = reason;
            Add($"-- session ended: {reason}");
        }
    }

    private void Append(StringBuilder partial, ReadOnlySpan<byte> bytes, bool fromClient)
    {
        foreach (var b in bytes)
        {
            if (b == (byte)'\n')
            {
                AddLine(partial, fromClient);
                continue;
            }
            if (b == (byte)'\r') continue;
            if (b < 0x20 || b >= 0x7f) partial.Append(System.Globalization.CultureInfo.InvariantCulture, $"\\x{b:X2}");
            else partial.Append((char)b);
        }
    }

    private void AddLine(StringBuilder partial, bool fromClient)
    {
        var line = partial.ToString();
        partial.Clear();
        if (fromClient)
        {
            Add("C: " + Redact(line));
            return;
        }
        if (_inSasl && (line.StartsWith("+OK", StringComparison.Ordinal) || line.StartsWith("-ERR", StringComparison.Ordinal))) _inSasl = false;
        Add("S: " + line);
    }

    /// <summary>Hides what a transcript must never show, like the server's own log (STYLE §10).</summary>
    private string Redact(string line)
    {
        // RFC 5034 §4: every client line between AUTH and the server's +OK/-ERR is a SASL response.
        if (_inSasl) return line == "*" ? line : "<redacted>";
        var parts = line.Split(' ', 3);
        var verb = parts[0].ToUpperInvariant();
        switch (verb)
        {
            case "PASS":
                return parts.Length > 1 ? $"{parts[0]} <redacted>" : line;
            case "APOP":
                return parts.Length > 2 ? $"{parts[0]} {parts[1]} <redacted>" : line;
            case "AUTH" when parts.Length > 1:
                _inSasl = true;
                return parts.Length > 2 ? $"{parts[0]} {parts[1]} <redacted>" : line;
            default:
                return line;
        }
    }

    private void Add(string line)
    {
        if (_lines.Count >= MaxLines)
        {
            _elided++;
            return;
        }
        _lines.Add(line);
    }

    /// <summary>The transcript as one block of text, headed by the session id, protocol and user, ready to attach to an assertion failure.</summary>
    public override string ToString()
    {
        lock (_lock)
        {
            var text = new StringBuilder();
            text.Append(System.Globalization.CultureInfo.InvariantCulture, $"== session {SessionId} ({Protocol}{(User is null ? "" : ", user " + User)})\n");
            foreach (var line in _lines) text.Append(line).Append('\n');
            if (_elided > 0) text.Append(System.Globalization.CultureInfo.InvariantCulture, $"-- {_elided} more lines not kept\n");
            return text.ToString();
        }
    }
}
