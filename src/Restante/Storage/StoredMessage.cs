namespace Restante.Storage;

/// <param name="Uid">The RFC 1939 unique-id: 1-70 octets in 0x21-0x7E, stable across sessions, never reused.</param>
/// <param name="Size">Octets RETR sends for the message body with CRLF line ends, before dot-stuffing.</param>
public readonly record struct StoredMessage(string Uid, long Size);
