using System.IO.Compression;

namespace Restante.Postgres;

/// <summary>
/// A stretch of a body stored compressed (zlib, RFC 1950, since schema version 5): what one delivery statement
/// wrote, at most the store's ChunkSize raw, compressed by the node and cut into body_chunk rows like raw data.
/// Fewer octets through PostgreSQL means fewer of the 8 KB pieces its backend sends a reply in, each of which
/// costs the node a wake-up of its socket read (bench/RESULTS-postgres-retr.md). zlib rather than Brotli,
/// which compresses text a little better: zlib's stream ends with an Adler-32 of the raw octets (RFC 1950 §2.2),
/// so a damaged frame fails to decompress instead of turning into other text of the right length, and it
/// decompresses faster. A frame is kept only when it saves at least an eighth: an already compressed attachment
/// stays raw. Off unless Postgres:CompressBodies is set to true: the inflate costs the node more CPU per RETR than the
/// fewer octets save the database (bench/RESULTS-postgres-retr.md, round 6).
/// </summary>
internal static class CompressedFrame
{
    // Level 1: the fastest that still finds repeats across lines; delivery pays it once per message.
    private static readonly ZLibCompressionOptions Fastest = new() { CompressionLevel = 1 };

    /// <summary>The largest frame a reader takes: a frame is at most one statement, so at most the largest ChunkSize.</summary>
    public const int MaxOctets = PostgresStoreOptions.MaxChunkSize;

    /// <summary>
    /// Compresses <paramref name="raw"/> into <paramref name="into"/> (emptied first); false when the result is not
    /// at least an eighth smaller (then the caller stores the raw octets).
    /// </summary>
    public static bool TryCompress(ReadOnlySpan<byte> raw, MemoryStream into)
    {
        into.SetLength(0);
        using (var zlib = new ZLibStream(into, Fastest, leaveOpen: true)) zlib.Write(raw);
        return into.Length <= raw.Length - raw.Length / 8;
    }

    /// <summary>
    /// Decompresses a whole frame into <paramref name="destination"/>, which is exactly as long as the frame's raw
    /// octets. Throws <see cref="IOException"/> unless the data decodes, checksum included, to exactly that many
    /// octets: a corrupt frame is a read failure, never octets sent as the message.
    /// </summary>
    public static void Decompress(byte[] compressed, int length, Span<byte> destination, long bodyId, int seq)
    {
        try
        {
            using var zlib = new ZLibStream(new MemoryStream(compressed, 0, length, writable: false), CompressionMode.Decompress);
            zlib.ReadExactly(destination);
            // One more read runs the decoder to the stream's end, where it checks the Adler-32; it must yield nothing.
            Span<byte> more = stackalloc byte[1];
            if (zlib.Read(more) == 0) return;
            throw new IOException($"The compressed frame at chunk {seq} of body {bodyId} holds more than its {destination.Length} octets.");
        }
        catch (Exception ex) when (ex is InvalidDataException or EndOfStreamException)
        {
            throw new IOException($"The compressed frame at chunk {seq} of body {bodyId} is corrupt: {ex.Message}", ex);
        }
    }
}
