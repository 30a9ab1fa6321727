using System.Buffers;

namespace Restante.Storage.Mbox;

/// <summary>
/// Adds or removes the <c>&gt;</c> that protects a body line starting with <c>From </c>, as a
/// stream of chunks (a line may be split anywhere). The reader and the writer use this one class,
/// so what is written comes back byte for byte, and the size LIST reports is the size RETR sends.
/// </summary>
internal sealed class FromQuoting
{
    private static ReadOnlySpan<byte> From => "From "u8;

    private readonly MboxVariant _variant;
    private readonly bool _quote;
    private bool _atLineStart = true;
    private bool _inPrefix;     // at a line start, reading '>'* then "From "
    private int _marks;         // '>' seen in the prefix: 0, 1 or 2 (meaning "two or more")
    private int _matched;       // bytes of "From " matched after them, held back

    private FromQuoting(MboxVariant variant, bool quote)
    {
        _variant = variant;
        _quote = quote;
    }

    /// <summary>For writing a message into the spool.</summary>
    public static FromQuoting Quoter(MboxVariant variant) => new(variant, quote: true);

    /// <summary>For reading a message out of the spool.</summary>
    public static FromQuoting Unquoter(MboxVariant variant) => new(variant, quote: false);

    // Quoting adds, and unquoting removes, one '>' of a run of '>'. All of them are alike, so the
    // run goes out as it comes (a hostile line of a billion '>' is never held), except the first
    // one when unquoting: that one is kept back until "From " decides whether it goes.
    public void Transform(ReadOnlySpan<byte> input, IBufferWriter<byte> output)
    {
        var i = 0;
        while (i < input.Length)
        {
            if (_atLineStart && !_inPrefix)
            {
                _inPrefix = true;
                _marks = 0;
                _matched = 0;
            }
            if (_inPrefix)
            {
                var b = input[i];
                if (_matched == 0 && b == (byte)'>')
                {
                    var run = input[i..];
                    var length = run.IndexOfAnyExcept((byte)'>');
                    if (length < 0) length = run.Length;
                    var held = !_quote && _marks == 0 ? 1 : 0;
                    if (length > held) output.Write(run[held..length]);
                    _marks = Math.Min(2, _marks + length);
                    i += length;
                    continue;
                }
                if (b == From[_matched])
                {
                    _matched++;
                    i++;
                    if (_matched == From.Length) EndPrefix(output, complete: true);
                    continue;
                }
                // Not a quoted line: what was held back goes out as it came, and this byte is
                // handled as an ordinary one.
                EndPrefix(output, complete: false);
                continue;
            }
            var rest = input[i..];
            var lf = rest.IndexOf((byte)'\n');
            var take = lf < 0 ? rest.Length : lf + 1;
            output.Write(rest[..take]);
            i += take;
            _atLineStart = lf >= 0;
        }
    }

    /// <summary>Ends a message: a prefix still held back (a last line such as "&gt;Fro") goes out unchanged.</summary>
    public void Complete(IBufferWriter<byte> output)
    {
        if (_inPrefix) EndPrefix(output, complete: false);
        _atLineStart = true;
    }

    private void EndPrefix(IBufferWriter<byte> output, bool complete)
    {
        if (_quote)
        {
            // mboxrd quotes every ">*From "; mboxo only a bare "From ".
            if (complete && (_variant == MboxVariant.Mboxrd || _marks == 0)) output.Write(">"u8);
        }
        else if (_marks >= 1)
        {
            // The '>' held back is dropped only where the variant unquotes.
            var unquote = complete && (_variant == MboxVariant.Mboxrd || _marks == 1);
            if (!unquote) output.Write(">"u8);
        }
        output.Write(From[.._matched]);
        _inPrefix = false;
        // Either way the line goes on past the prefix.
        _atLineStart = false;
    }
}
