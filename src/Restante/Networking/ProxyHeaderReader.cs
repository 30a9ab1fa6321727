using System.Net;
using Restante.Protocol;

namespace Restante.Networking;

/// <summary>
/// Reads one PROXY protocol header off a new connection, byte-exact, so the session's own reader starts at
/// the client's first byte. The header is read without buffering ahead: 12 bytes decide the version (v1's
/// shortest line, "PROXY UNKNOWN\r\n", is 15), then v2 takes its announced length and v1 reads to LF.
/// </summary>
public static class ProxyHeaderReader
{
    /// <summary>§2.2: the v2 body is at most 65535 bytes, but with TLVs a sane one stays far below this; more is refused.</summary>
    private const int MaxV2Body = 4096;

    /// <returns>The header's verdict: the client's address (null: keep the connection's own), or an error to log.</returns>
    public static async Task<ProxyHeaderResult> ReadAsync(Stream stream, CancellationToken cancellationToken)
    {
        var start = new byte[16];
        try
        {
            await stream.ReadExactlyAsync(start.AsMemory(0, 12), cancellationToken).ConfigureAwait(false);
            if (start.AsSpan(0, 12).SequenceEqual(ProxyHeader.V2Signature))
            {
                await stream.ReadExactlyAsync(start.AsMemory(12, 4), cancellationToken).ConfigureAwait(false);
                var length = ProxyHeader.V2BodyLength(start);
                if (length < 0) return ProxyHeaderResult.Invalid("PROXY v2 header with an unknown version");
                if (length > MaxV2Body) return ProxyHeaderResult.Invalid($"PROXY v2 header of {length} bytes");
                var body = new byte[length];
                await stream.ReadExactlyAsync(body, cancellationToken).ConfigureAwait(false);
                return ProxyHeader.TryParseV2(start, body, out var v2Source)
                    ? ProxyHeaderResult.Valid(v2Source)
                    : ProxyHeaderResult.Invalid("malformed PROXY v2 header");
            }
            if (!start.AsSpan(0, ProxyHeader.V1Prefix.Length).SequenceEqual(ProxyHeader.V1Prefix))
                return ProxyHeaderResult.Invalid("no PROXY header");
            var line = new byte[ProxyHeader.V1MaxLength];
            start.AsSpan(0, 12).CopyTo(line);
            var count = 12;
            // One byte at a time: a byte past LF belongs to the client's first command.
            while (line[count - 1] != (byte)'\n')
            {
                if (count == line.Length) return ProxyHeaderResult.Invalid("PROXY v1 header longer than 107 bytes");
                await stream.ReadExactlyAsync(line.AsMemory(count, 1), cancellationToken).ConfigureAwait(false);
                count++;
            }
            return ProxyHeader.TryParseV1(line.AsSpan(0, count), out var v1Source)
                ? ProxyHeaderResult.Valid(v1Source)
                : ProxyHeaderResult.Invalid("malformed PROXY v1 header");
        }
        catch (EndOfStreamException)
        {
            return ProxyHeaderResult.Invalid("connection closed inside the PROXY header");
        }
    }
}

/// <summary>What <see cref="ProxyHeaderReader"/> found: a valid header (and the client it names, if any), or why not.</summary>
public readonly record struct ProxyHeaderResult(bool IsValid, IPEndPoint? Source, string? Error)
{
    public static ProxyHeaderResult Valid(IPEndPoint? source) => new(true, source, null);

    public static ProxyHeaderResult Invalid(string error) => new(false, null, error);
}
