namespace Restante.Storage;

/// <summary>
/// One flag per message of a session's snapshot (deleted, retrieved, expunged), as a bit set allocated at the first
/// mark. Most sessions mark nothing (a poll that finds no new mail, an idle session), so they hold no array at all;
/// one that does holds a bit per message, not a byte. A mutable struct: keep it in a non-readonly field.
/// </summary>
internal struct MessageMarks
{
    private ulong[]? _bits;

    /// <summary>Whether message <paramref name="index"/> is marked.</summary>
    public readonly bool IsMarked(int index) => _bits is { } bits && (bits[index >> 6] & (1UL << index)) != 0;

    /// <summary>Marks message <paramref name="index"/> of <paramref name="count"/>; false when it was marked already.</summary>
    public bool Mark(int index, int count)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(index);
        ArgumentOutOfRangeException.ThrowIfGreaterThanOrEqual(index, count);
        var bits = _bits ??= new ulong[(count + 63) >> 6];
        ref var word = ref bits[index >> 6];
        var bit = 1UL << index;   // C# masks the shift count to its low 6 bits
        if ((word & bit) != 0) return false;
        word |= bit;
        return true;
    }

    /// <summary>Unmarks every message (the array, once there, is kept for the next marks).</summary>
    public readonly void Clear()
    {
        if (_bits is { } bits) Array.Clear(bits);
    }

    /// <summary>The marked indexes in ascending order.</summary>
    public readonly List<int> Marked(int capacity = 0)
    {
        var result = new List<int>(capacity);
        if (_bits is not { } bits) return result;
        for (var w = 0; w < bits.Length; w++)
        {
            var word = bits[w];
            while (word != 0)
            {
                result.Add((w << 6) + System.Numerics.BitOperations.TrailingZeroCount(word));
                word &= word - 1;
            }
        }
        return result;
    }
}
