using System.Buffers;
using FsCheck;
using FsCheck.Fluent;
using FsCheck.Xunit;
using Restante.Protocol;

namespace Restante.Tests.Properties;

/// <summary>What the wire carries, undone by a client, is the message with CRLF line ends — for any bytes at all.</summary>
public class MessageProperties
{
    // Bytes drawn mostly from the ones that matter to the conversion, so edge cases are common.
    private static readonly Gen<byte> s_interestingByte = Gen.Frequency(
        (3, Gen.Constant((byte)'.')), (3, Gen.Constant((byte)'\n')), (2, Gen.Constant((byte)'\r')),
        (4, Gen.Choose(32, 126).Select(i => (byte)i)), (1, Gen.Choose(0, 255).Select(i => (byte)i)));

    public static Arbitrary<byte[]> Messages() => Arb.From(s_interestingByte.ArrayOf());

    private static byte[] Send(byte[] stored, long? top, int[] cuts)
    {
        var output = new ArrayBufferWriter<byte>();
        var writer = new MessageWriter(top);
        var offset = 0;
        foreach (var cut in cuts)
        {
            var length = Math.Min(Math.Max(1, cut), stored.Length - offset);
            if (length <= 0) break;
            writer.Write(stored.AsSpan(offset, length), output);
            offset += length;
        }
        if (offset < stored.Length) writer.Write(stored.AsSpan(offset), output);
        writer.Complete(output);
        return output.WrittenSpan.ToArray();
    }

    /// <summary>A client's reading of a multi-line reply body: CRLF lines, leading dot removed, up to ".".</summary>
    private static byte[]? Receive(byte[] wire)
    {
        var result = new List<byte>();
        var position = 0;
        while (true)
        {
            var end = IndexOfCrlf(wire, position);
            if (end < 0) return null;
            var line = wire.AsSpan(position, end - position);
            position = end + 2;
            if (line.Length == 1 && line[0] == '.') return position == wire.Length ? result.ToArray() : null;
            if (line.Length > 0 && line[0] == '.') line = line[1..];
            result.AddRange(line.ToArray());
            result.Add((byte)'\r');
            result.Add((byte)'\n');
        }
    }

    private static int IndexOfCrlf(byte[] data, int from)
    {
        for (var i = from; i + 1 < data.Length; i++)
        {
            if (data[i] == '\r' && data[i + 1] == '\n')
            {
                // A CR right before CRLF belongs to the line (a stored bare CR); the CRLF is the one ending it.
                return i;
            }
        }
        return -1;
    }

    private static byte[] CrlfOf(byte[] stored)
    {
        var result = new List<byte>();
        byte last = 0;
        foreach (var b in stored)
        {
            if (b == '\n' && last != '\r') result.Add((byte)'\r');
            result.Add(b);
            last = b;
        }
        if (stored.Length > 0 && last != '\n') { result.Add((byte)'\r'); result.Add((byte)'\n'); }
        return result.ToArray();
    }

    [Property(Arbitrary = [typeof(MessageProperties)], MaxTest = 500)]
    public bool Retr_round_trips_to_the_crlf_message(byte[] stored, int[] cuts)
    {
        var wire = Send(stored, null, cuts);
        var received = Receive(wire);
        return received is not null && received.AsSpan().SequenceEqual(CrlfOf(stored));
    }

    [Property(Arbitrary = [typeof(MessageProperties)], MaxTest = 500)]
    public bool List_size_equals_octets_sent_before_stuffing(byte[] stored, int[] cuts)
    {
        var received = Receive(Send(stored, null, cuts));
        return received is not null && received.Length == MessageOctets.Count(stored);
    }

    [Property(Arbitrary = [typeof(MessageProperties)], MaxTest = 300)]
    public bool Chunking_never_changes_the_bytes_sent(byte[] stored, int[] cuts)
        => Send(stored, null, cuts).AsSpan().SequenceEqual(Send(stored, null, []));

    [Property(MaxTest = 300)]
    public bool Top_sends_the_header_the_blank_line_and_n_body_lines(PositiveInt headerLines, NonNegativeInt bodyLines, NonNegativeInt n, bool lfOnly)
    {
        var eol = lfOnly ? "\n" : "\r\n";
        var header = Enumerable.Range(0, headerLines.Get % 20).Select(i => $"X-H{i}: v");
        var body = Enumerable.Range(0, bodyLines.Get % 50).Select(i => i % 3 == 0 ? $".b{i}" : $"b{i}");
        var text = string.Join(eol, header) + (headerLines.Get % 20 > 0 ? eol : "") + eol + string.Join(eol, body) + (bodyLines.Get % 50 > 0 ? eol : "");
        var wire = Send(System.Text.Encoding.ASCII.GetBytes(text), n.Get, []);
        var lines = System.Text.Encoding.ASCII.GetString(Receive(wire)!).Split("\r\n")[..^1];
        var expectedBody = Math.Min(n.Get, bodyLines.Get % 50);
        return lines.Length == headerLines.Get % 20 + 1 + expectedBody
            && lines[headerLines.Get % 20] == ""
            && lines.Skip(headerLines.Get % 20 + 1).SequenceEqual(body.Take(expectedBody));
    }
}
