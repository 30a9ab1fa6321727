using System.Buffers;
using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;

namespace Micro;

// The RETR conversion before bench/NOTES-retr.md (a copy of MessageWriter at dff82a5), for the A/B in Program.cs.
/// <summary>
/// Streams a stored message as a POP3 multi-line reply body: bare LF becomes CRLF, a line starting
/// with '.' gets a second '.' (RFC 1939 §3 byte-stuffing), a last line without a line end gets one,
/// and 8-bit bytes pass untouched. For TOP it stops after the header, the blank line and n body lines.
/// Counting agrees with <see cref="MessageOctets"/> before stuffing.
/// </summary>
public sealed class OldWriter
{
    private readonly long _bodyLineLimit;
    private bool _atLineStart = true;
    private byte _last;
    private bool _inHeader;
    private long _lineBytes;
    private long _bodyLinesLeft;
    private bool _finished;

    /// <param name="bodyLineLimit">Null for RETR (everything); n for TOP (header plus n body lines).</param>
    public OldWriter(long? bodyLineLimit = null)
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
    /// with LF ends (as Postfix writes Maildirs) has a bare LF on every line, so the loop must cost little per line: it
    /// copies 32 octets at a time with one vector store, and where the block holds an LF it keeps the octets before it,
    /// writes the line end and starts the next block right after the LF (the store already made past the LF is simply
    /// overwritten). A line costs about two block steps, no call and no per-octet work.
    /// </summary>
    private void WriteWhole(ReadOnlySpan<byte> chunk, IBufferWriter<byte> output)
    {
        var destination = output.GetSpan(MaxOutput(chunk.Length));
        output.Advance(ConvertWhole(chunk, destination));
    }

    private int ConvertWhole(ReadOnlySpan<byte> chunk, Span<byte> destination)
    {
        // Every index below is checked against these two bounds once, here: output ≤ 2 × input + 1 (the stuffing dot at
        // the start), and a block store at output position o ≤ 2i + 1 for input position i ≤ n − 32 ends before 2n.
        if (destination.Length < MaxOutput(chunk.Length)) throw new ArgumentException("The destination is smaller than MaxOutput.", nameof(destination));
        ref var source = ref MemoryMarshal.GetReference(chunk);
        ref var target = ref MemoryMarshal.GetReference(destination);
        var length = (nuint)chunk.Length;
        nuint i = 0, o = 0;
        // The octet before input position 0: the last of the previous chunk (a CRLF split between reads), LF at a line start.
        var previous = _atLineStart ? (byte)'\n' : _last;
        if (_atLineStart && source == (byte)'.') Unsafe.Add(ref target, o++) = (byte)'.';   // RFC 1939 §3 byte-stuffing

        if (Vector256.IsHardwareAccelerated)
        {
            var lf256 = Vector256.Create((byte)'\n');
            while (i + (nuint)Vector256<byte>.Count <= length)
            {
                var block = Vector256.LoadUnsafe(ref source, i);
                block.StoreUnsafe(ref target, o);
                var lfs = Vector256.Equals(block, lf256).ExtractMostSignificantBits();
                if (lfs == 0)
                {
                    i += (nuint)Vector256<byte>.Count;
                    o += (nuint)Vector256<byte>.Count;
                    continue;
                }
                var at = (nuint)BitOperations.TrailingZeroCount(lfs);
                i += at;
                o += at;
                EndLine(ref source, ref target, length, ref i, ref o, previous);
            }
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

        if (length > 0)
        {
            _last = Unsafe.Add(ref source, length - 1);
            _atLineStart = _last == (byte)'\n';
        }
        return (int)o;
    }

    /// <summary>At the LF at input position <paramref name="i"/>: the CR a bare LF lacks, the LF, and a second dot when the next line starts with one.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void EndLine(ref byte source, ref byte target, nuint length, ref nuint i, ref nuint o, byte previous)
    {
        var before = i == 0 ? previous : Unsafe.Add(ref source, i - 1);
        if (before != (byte)'\r') Unsafe.Add(ref target, o++) = (byte)'\r';
        Unsafe.Add(ref target, o++) = (byte)'\n';
        i++;
        // The dot itself is copied with what follows; a line start at the end of the chunk is the next chunk's to check.
        if (i < length && Unsafe.Add(ref source, i) == (byte)'.') Unsafe.Add(ref target, o++) = (byte)'.';
    }

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
