namespace Restante.Storage.Maildir;

/// <summary>Walks LF-terminated lines of a text, a trailing CR dropped; a last line without LF counts too.</summary>
internal ref struct LineCursor(ReadOnlySpan<char> text)
{
    private ReadOnlySpan<char> _rest = text;

    public bool TryNext(out ReadOnlySpan<char> line)
    {
        if (_rest.IsEmpty) { line = default; return false; }
        var newline = _rest.IndexOf('\n');
        line = newline < 0 ? _rest : _rest[..newline];
        _rest = newline < 0 ? default : _rest[(newline + 1)..];
        if (line.EndsWith("\r")) line = line[..^1];
        return true;
    }
}
