using System.Buffers;
using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;

namespace Restante.Protocol;

/// <summary>
/// Streams a stored message as a POP3 multi-line reply body: bare LF becomes CRLF, a line starting
/// with '.' gets a second '.' (RFC 1939 §3 byte-stuffing), a last line without a line end gets one,
/// and 8-bit bytes pass untouched. For TOP it stops after the header, the blank line and n body lines.
/// Counting agrees with <see cref="MessageOctets"/> before stuffing.
/// </summary>
public sealed class MessageWriter
{
    private readonly long _bodyLineLimit;
    private bool _atLineStart = true;
    private byte _last;
    private bool _inHeader;
    private long _lineBytes;
    private long _bodyLinesLeft;
    private bool _finished;

    /// <param name="bodyLineLimit">Null for RETR (everything); n for TOP (header plus n body lines).</param>
    public MessageWriter(long? bodyLineLimit = null)
    {
        _bodyLineLimit = bodyLineLimit ?? -1;
        _inHeader = bodyLineLimit is not null;
        _bodyLinesLeft = _bodyLineLimit;
    }

    /// <summary>True once TOP has sent all it should; further input is ignored.</summary>
    public bool Finished => _finished;

    public void Write(ReadOnlySpan<byte> chunk, IBufferWriter<byte> output)
    {
        if (chunk.IsEmpty || _finished) return;
        if (_bodyLineLimit < 0)
        {
            WriteWhole(chunk, output);
            return;
        }
        // One destination span per chunk, sized for the worst case (every byte a bare LF or a
        // dot-leading line: at most doubled), so the loop below only copies runs — no call into
        // the writer per line. Runs end only at a stuffed dot or a repaired line end, so a CRLF
        // message without dot-leading lines is one copy per chunk.
        var destination = output.GetSpan(chunk.Length * 2);
        var written = 0;
        var run = 0;
        var position = 0;
        while (position < chunk.Length)
        {
            if (_atLineStart)
            {
                if (_bodyLinesLeft == 0 && !_inHeader)
                {
                    _finished = true;
                    break;
                }
                if (chunk[position] == (byte)'.')
                {
                    written += Copy(chunk[run..position], destination[written..]);
                    destination[written++] = (byte)'.';
                    run = position;
                }
                _atLineStart = false;
                _lineBytes = 0;
            }

            var lf = chunk[position..].IndexOf((byte)'\n');
            if (lf < 0)
            {
                _lineBytes += chunk.Length - position;
                _last = chunk[^1];
                position = chunk.Length;
                break;
            }
            lf += position;
            if (lf > position) _last = chunk[lf - 1];
            _lineBytes += lf - position;
            if (_last != (byte)'\r')
            {
                // A bare LF: copy what came before, then the missing CR; the LF starts the next run.
                written += Copy(chunk[run..lf], destination[written..]);
                destination[written++] = (byte)'\r';
                run = lf;
            }
            // A line holding nothing, or only the CR of its CRLF, is the blank line that ends the header.
            var blank = _lineBytes == 0 || (_lineBytes == 1 && _last == (byte)'\r');
            _last = (byte)'\n';
            _atLineStart = true;
            EndOfLine(blank);
            position = lf + 1;
        }
        written += Copy(chunk[run..position], destination[written..]);
        output.Advance(written);
    }

    /// <summary>
    /// The most octets <see cref="Write"/> and <see cref="Complete"/> produce for <paramref name="chunkLength"/> octets of
    /// input: every byte a bare LF (gains a CR) or a dot at a line start (gains a dot), the final line end and ".", and
    /// room for the whole-vector stores the RETR loop makes past what it keeps.
    /// </summary>
    public static int MaxOutput(int chunkLength) => checked(chunkLength * 2 + 5 + Vector256<byte>.Count);

    /// <summary>
    /// RETR: no header or line counting, so the work is "copy, repair each bare LF, stuff a leading dot". A message stored
    /// with LF ends (as Postfix writes Maildirs) has a bare LF on every line (about one in 60–70 octets), so the cost per
    /// line is what counts. The main loop steps through 64-octet windows at fixed offsets and stores each one shifted by
    /// the octets inserted so far; for each LF in the window it stores the CR (kept only when the LF is bare), the LF, a
    /// dot (kept only when the next line starts with one) and the 64 octets after the LF one or two further along, over
    /// what the window's store put there. Where the LFs are never depends on the work done at the previous one, and no
    /// branch but the loop's own depends on the text, so lines overlap in the CPU instead of waiting on each other (about
    /// 30% less time than finding each LF from the last one: 10.1 → 7.0 µs of CPU per 53 KB LF message; bench/NOTES-retr.md).
    /// The last 64 to 127 octets go through a 16-octet loop and then one octet at a time.
    /// </summary>
    private void WriteWhole(ReadOnlySpan<byte> chunk, IBufferWriter<byte> output)
    {
        var destination = output.GetSpan(MaxOutput(chunk.Length));
        output.Advance(ConvertWhole(chunk, destination));
    }

    private int ConvertWhole(ReadOnlySpan<byte> chunk, Span<byte> destination)
    {
        // Every index below is checked against this bound once, here. Each input octet yields at most two, plus the stuffing
        // dot at the start, so the output for input [0, i) ends at o ≤ 2i + 1. A vector store of what starts at input i
        // ≤ n − 64 (a window, or the octets after an LF in one) ends at o + 64 ≤ 2n − 63; the 16-octet loop's stores at
        // i ≤ n − 16 end before 2n; the CR, LF and dot of an LF at i < n go at o ≤ 2i + 3 ≤ 2n + 1. All inside MaxOutput.
        if (destination.Length < MaxOutput(chunk.Length)) throw new ArgumentException("The destination is smaller than MaxOutput.", nameof(destination));
        ref var source = ref MemoryMarshal.GetReference(chunk);
        ref var target = ref MemoryMarshal.GetReference(destination);
        var length = (nuint)chunk.Length;
        nuint i = 0, o = 0;
        if (length == 0) return 0;
        // The octet before input position 0: the last of the previous chunk (a CRLF split between reads), LF at a line start.
        var previous = _atLineStart ? (byte)'\n' : _last;
        if (_atLineStart && source == (byte)'.') Unsafe.Add(ref target, o++) = (byte)'.';   // RFC 1939 §3 byte-stuffing

        if (Vector256.IsHardwareAccelerated)
        {
            // Windows of 64 octets at fixed steps, so finding the LFs never waits on the work done at the last one. The
            // window is stored shifted by the octets inserted so far; at each LF the octets from the LF on are stored
            // again, one or two further along. The last window ends 64 octets before the end: each store reads 64 octets
            // from just after an LF.
            var lf256 = Vector256.Create((byte)'\n');
            var shift = o;
            nuint w = 0;
            for (; w + 4 * (nuint)Vector256<byte>.Count <= length; w += 2 * (nuint)Vector256<byte>.Count)
            {
                var low = Vector256.LoadUnsafe(ref source, w);
                var high = Vector256.LoadUnsafe(ref source, w + (nuint)Vector256<byte>.Count);
                low.StoreUnsafe(ref target, w + shift);
                high.StoreUnsafe(ref target, w + shift + (nuint)Vector256<byte>.Count);
                var lfs = Vector256.Equals(low, lf256).ExtractMostSignificantBits()
                    | (ulong)Vector256.Equals(high, lf256).ExtractMostSignificantBits() << 32;
                while (lfs != 0)
                {
                    var lf = w + (nuint)BitOperations.TrailingZeroCount(lfs);
                    lfs &= lfs - 1;
                    var before = lf == 0 ? previous : Unsafe.Add(ref source, lf - 1);
                    // The CR always, kept only when the LF is bare; the dot always, kept only when the next line starts
                    // with one (RFC 1939 §3); what follows the LF then goes after them.
                    Unsafe.Add(ref target, lf + shift) = (byte)'\r';
                    shift += Flag(before != (byte)'\r');
                    Unsafe.Add(ref target, lf + shift) = (byte)'\n';
                    Unsafe.Add(ref target, lf + shift + 1) = (byte)'.';
                    shift += Flag(Unsafe.Add(ref source, lf + 1) == (byte)'.');
                    Vector256.LoadUnsafe(ref source, lf + 1).StoreUnsafe(ref target, lf + 1 + shift);
                    Vector256.LoadUnsafe(ref source, lf + 1 + (nuint)Vector256<byte>.Count).StoreUnsafe(ref target, lf + 1 + shift + (nuint)Vector256<byte>.Count);
                }
            }
            i = w;
            o = w + shift;
        }
        var lf128 = Vector128.Create((byte)'\n');
        while (i + (nuint)Vector128<byte>.Count <= length)
        {
            var block = Vector128.LoadUnsafe(ref source, i);
            block.StoreUnsafe(ref target, o);
            var lfs = Vector128.Equals(block, lf128).ExtractMostSignificantBits();
            if (lfs == 0)
            {
                i += (nuint)Vector128<byte>.Count;
                o += (nuint)Vector128<byte>.Count;
                continue;
            }
            var at = (nuint)BitOperations.TrailingZeroCount(lfs);
            i += at;
            o += at;
            EndLine(ref source, ref target, length, ref i, ref o, previous);
        }
        while (i < length)
        {
            var b = Unsafe.Add(ref source, i);
            if (b == (byte)'\n')
            {
                EndLine(ref source, ref target, length, ref i, ref o, previous);
                continue;
            }
            Unsafe.Add(ref target, o++) = b;
            i++;
        }

        _last = Unsafe.Add(ref source, length - 1);
        _atLineStart = _last == (byte)'\n';
        return (int)o;
    }

    /// <summary>
    /// At the LF at input position <paramref name="i"/>: the CR a bare LF lacks, the LF, and a second dot when the next line
    /// starts with one. Branch-free but for the octet before a chunk's first LF: the CR is stored in any case and the LF
    /// overwrites it when it is not needed; the same for the dot.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void EndLine(ref byte source, ref byte target, nuint length, ref nuint i, ref nuint o, byte previous)
    {
        var before = i == 0 ? previous : Unsafe.Add(ref source, i - 1);
        Unsafe.Add(ref target, o) = (byte)'\r';
        o += Flag(before != (byte)'\r');
        Unsafe.Add(ref target, o++) = (byte)'\n';
        i++;
        // The dot itself is copied with what follows; a line start at the end of the chunk is the next chunk's to check.
        var next = i < length ? Unsafe.Add(ref source, i) : (byte)0;
        Unsafe.Add(ref target, o) = (byte)'.';
        o += Flag(next == (byte)'.');
    }

    /// <summary>1 for true, 0 for false, as a setcc rather than a branch.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static nuint Flag(bool value) => value ? 1u : 0u;

    private static int Copy(ReadOnlySpan<byte> source, Span<byte> destination)
    {
        source.CopyTo(destination);
        return source.Length;
    }

    private void EndOfLine(bool blank)
    {
        if (_inHeader)
        {
            if (blank) _inHeader = false;
        }
        else if (_bodyLinesLeft > 0)
        {
            _bodyLinesLeft--;
        }
    }

    /// <summary>Ends the reply: the line end the message may lack, then the terminating ".".</summary>
    public void Complete(IBufferWriter<byte> output)
    {
        output.Write(_atLineStart ? ".\r\n"u8 : "\r\n.\r\n"u8);
    }
}
