namespace Restante.Storage.Mbox;

/// <summary>One message of a spool, where it lies and what it is.</summary>
/// <param name="Start">Offset of its <c>From </c> line.</param>
/// <param name="BodyStart">Offset just past the <c>From </c> line: the message proper starts here.</param>
/// <param name="BodyEnd">Where the message proper ends (the blank line that separates it from the next is not part of it).</param>
/// <param name="Next">Where the next message's <c>From </c> line starts, or the end of the spool: [Start, Next) is what a rewrite keeps or drops.</param>
/// <param name="Size">Octets RETR sends: unquoted, with CRLF line ends, before dot-stuffing.</param>
/// <param name="Identity">A hash of the <c>From </c> line, the headers and the size: the same wherever the message sits.</param>
/// <param name="XUidl">The value of its <c>X-UIDL:</c> header when it has a usable one.</param>
internal readonly record struct SpoolMessage(long Start, long BodyStart, long BodyEnd, long Next, long Size, string Identity, string? XUidl);
