using System.Buffers;

namespace Restante.Tests.Protocol;

/// <summary>The same bytes cut into segments every way that matters: whole, and every two-way split.</summary>
internal static class Framings
{
    public static IEnumerable<ReadOnlySequence<byte>> All(byte[] data)
    {
        yield return new ReadOnlySequence<byte>(data);
        for (var cut = 1; cut < data.Length; cut++)
            yield return Segmented(data[..cut], data[cut..]);
        if (data.Length > 2) yield return Segmented(data.Select(b => new[] { b }).ToArray());
    }

    public static ReadOnlySequence<byte> Segmented(params byte[][] parts)
    {
        var first = new Segment(parts[0], 0);
        var last = first;
        for (var i = 1; i < parts.Length; i++) last = last.Append(parts[i]);
        return new ReadOnlySequence<byte>(first, 0, last, last.Memory.Length);
    }

    private sealed class Segment : ReadOnlySequenceSegment<byte>
    {
        public Segment(byte[] data, long runningIndex)
        {
            Memory = data;
            RunningIndex = runningIndex;
        }

        public Segment Append(byte[] data)
        {
            var next = new Segment(data, RunningIndex + Memory.Length);
            Next = next;
            return next;
        }
    }
}
