using System.Buffers;
using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using Microsoft.Win32.SafeHandles;
using Restante.Protocol;

namespace Restante.Storage.Mbox;

/// <summary>
/// Finds the messages of a spool. A message starts at a line beginning <c>From </c> that is the
/// first line of the file or follows an empty line; the Content-Length header is not trusted
/// (see the README: a spool is written by several programs, and one that wrote no header or a
/// wrong one would make a length-based reader split inside a message).
/// </summary>
internal static class SpoolScanner
{
    private const int ChunkSize = 64 * 1024;
    // The headers hashed into a message's identity: enough for Received, Message-ID and Date,
    // bounded so a message of one endless header costs no memory.
    private const int MaxHashedHeader = 64 * 1024;
    private const int MaxFromLine = 1024;

    /// <summary>The spool is not an mbox (it does not begin with a <c>From </c> line).</summary>
    public sealed class MalformedSpoolException(string message) : Exception(message);

    /// <summary>Reads [0, <paramref name="length"/>) of the spool.</summary>
    public static List<SpoolMessage> Scan(SafeFileHandle spool, long length, MboxVariant variant, CancellationToken cancellationToken)
    {
        var bounds = FindSeparators(spool, length, cancellationToken);
        var messages = new List<SpoolMessage>(bounds.Count);
        var buffer = ArrayPool<byte>.Shared.Rent(ChunkSize);
        try
        {
            foreach (var (start, bodyStart, bodyEnd, next) in bounds)
            {
                cancellationToken.ThrowIfCancellationRequested();
                messages.Add(Describe(spool, start, bodyStart, bodyEnd, next, variant, buffer));
            }
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
        return messages;
    }

    private static List<(long Start, long BodyStart, long BodyEnd, long Next)> FindSeparators(SafeFileHandle spool, long length, CancellationToken cancellationToken)
    {
        var found = new List<(long, long, long, long)>();
        if (length == 0) return found;
        var buffer = ArrayPool<byte>.Shared.Rent(ChunkSize);
        try
        {
            // The line being read: where it starts, its first five bytes, and its length so far.
            long lineStart = 0, previousLineStart = -1;
            var head = new byte[5];
            var headCount = 0;
            long lineLength = 0;
            var previousBlank = true;   // the start of the file counts as following an empty line
            var current = (Start: -1L, BodyStart: -1L);
            long position = 0;
            while (position < length)
            {
                cancellationToken.ThrowIfCancellationRequested();
                var read = RandomAccess.Read(spool, buffer.AsSpan(0, (int)Math.Min(ChunkSize, length - position)), position);
                if (read <= 0) break;   // the file shrank under us: what was read is the spool
                var chunk = buffer.AsSpan(0, read);
                var i = 0;
                while (i < chunk.Length)
                {
                    var rest = chunk[i..];
                    var lf = rest.IndexOf((byte)'\n');
                    var part = lf < 0 ? rest : rest[..lf];
                    var copy = Math.Min(part.Length, head.Length - headCount);
                    part[..copy].CopyTo(head.AsSpan(headCount));
                    headCount += copy;
                    lineLength += part.Length;
                    if (lf < 0)
                    {
                        i = chunk.Length;
                        break;
                    }
                    var lineEnd = position + i + lf + 1;
                    EndLine(lineEnd);
                    i += lf + 1;
                }
                position += read;
            }
            if (position < length) length = position;
            // A last line without a line end still counts (it may be a From line).
            if (lineLength > 0) EndLine(length);
            if (found.Count == 0 && current.Start < 0)
                throw new MalformedSpoolException("the spool does not begin with a \"From \" line");
            if (current.Start >= 0)
            {
                // The last message: a final empty line is the separator a writer added, not its own.
                var bodyEnd = previousBlank && previousLineStart >= current.BodyStart ? previousLineStart : length;
                found.Add((current.Start, current.BodyStart, bodyEnd, length));
            }
            return found;

            void EndLine(long lineEnd)
            {
                var blank = lineLength == 0 || (lineLength == 1 && head[0] == (byte)'\r');
                var isFrom = headCount == 5 && head.AsSpan().SequenceEqual("From "u8);
                if (isFrom && previousBlank)
                {
                    if (current.Start >= 0)
                        found.Add((current.Start, current.BodyStart, previousLineStart, lineStart));
                    else if (lineStart != 0)
                        throw new MalformedSpoolException("the spool does not begin with a \"From \" line");
                    current = (lineStart, lineEnd);
                }
                else if (current.Start < 0)
                {
                    throw new MalformedSpoolException("the spool does not begin with a \"From \" line");
                }
                previousBlank = blank;
                previousLineStart = lineStart;
                lineStart = lineEnd;
                headCount = 0;
                lineLength = 0;
            }
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }

    /// <summary>Measures and identifies one message whose bounds are known.</summary>
    internal static SpoolMessage Describe(SafeFileHandle spool, long start, long bodyStart, long bodyEnd, long next, MboxVariant variant, byte[] buffer)
    {
        var unquoter = FromQuoting.Unquoter(variant);
        var output = new ArrayBufferWriter<byte>(ChunkSize + 64);
        var octets = new MessageOctets();
        var header = new ArrayBufferWriter<byte>();
        var inHeader = true;
        var atLineStart = true;
        var lastWasCr = false;
        for (var position = bodyStart; position < bodyEnd;)
        {
            var read = RandomAccess.Read(spool, buffer.AsSpan(0, (int)Math.Min(buffer.Length, bodyEnd - position)), position);
            if (read <= 0) break;
            position += read;
            output.ResetWrittenCount();
            unquoter.Transform(buffer.AsSpan(0, read), output);
            if (position >= bodyEnd) unquoter.Complete(output);
            var text = output.WrittenSpan;
            octets.Add(text);
            if (inHeader) TakeHeader(text);
        }
        var fromLine = new byte[(int)Math.Min(MaxFromLine, bodyStart - start)];
        _ = RandomAccess.Read(spool, fromLine, start);
        using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        hash.AppendData(fromLine);
        hash.AppendData(header.WrittenSpan);
        hash.AppendData(Encoding.ASCII.GetBytes(octets.Total.ToString(CultureInfo.InvariantCulture)));
        var identity = Convert.ToHexStringLower(hash.GetCurrentHash().AsSpan(0, 16));
        return new SpoolMessage(start, bodyStart, bodyEnd, next, octets.Total, identity, FindXUidl(header.WrittenSpan));

        void TakeHeader(ReadOnlySpan<byte> text)
        {
            // Up to and including the empty line that ends the header (RFC 5322 §2.1).
            var i = 0;
            for (; i < text.Length; i++)
            {
                var b = text[i];
                if (b == (byte)'\n')
                {
                    if (atLineStart)
                    {
                        inHeader = false;
                        i++;
                        break;
                    }
                    atLineStart = true;
                    lastWasCr = false;
                    continue;
                }
                if (b == (byte)'\r' && atLineStart && !lastWasCr)
                {
                    lastWasCr = true;
                    continue;
                }
                atLineStart = false;
                lastWasCr = false;
            }
            var room = MaxHashedHeader - header.WrittenCount;
            if (room > 0) header.Write(text[..Math.Min(i, room)]);
        }
    }

    /// <summary>The value of the first <c>X-UIDL:</c> header, when it is a valid RFC 1939 §7 unique-id.</summary>
    internal static string? FindXUidl(ReadOnlySpan<byte> header)
    {
        var rest = header;
        while (!rest.IsEmpty)
        {
            var lf = rest.IndexOf((byte)'\n');
            var line = lf < 0 ? rest : rest[..lf];
            rest = lf < 0 ? default : rest[(lf + 1)..];
            if (line.Length < 7 || !Ascii.EqualsIgnoreCase(line[..7], "X-UIDL:"u8)) continue;
            var value = line[7..].Trim(" \t\r"u8);
            // qpopper's values are 32 hex digits; anything printable of 1-70 octets is a unique-id.
            if (value.Length is < 1 or > 70 || value.ContainsAnyExceptInRange((byte)0x21, (byte)0x7E)) return null;
            return Encoding.ASCII.GetString(value);
        }
        return null;
    }
}
