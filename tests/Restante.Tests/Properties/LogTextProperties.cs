using System.Globalization;
using System.Text;
using FsCheck;
using FsCheck.Fluent;
using FsCheck.Xunit;
using Restante.Protocol;

namespace Restante.Tests.Properties;

/// <summary>
/// Whatever a client sends, LogText gives one bounded token of printable ASCII that reads back to
/// exactly what was sent (unless cut): no line end, no space, no control or Unicode trickery.
/// </summary>
public class LogTextProperties
{
    // Weighted toward what attacks a log: line ends, spaces, the escape character, NUL, NEL and
    // LINE SEPARATOR, bidi overrides, lone surrogates; ordinary text in between.
    private static readonly Gen<char> s_interestingChar = Gen.Frequency(
        (6, Gen.Choose(0x21, 0x7E).Select(i => (char)i)),
        (4, Gen.Elements('\r', '\n', ' ', '\t', '\\', '\0', '\x1b', '\x7f')),
        (2, Gen.Elements('\u0085', '\u2028', '\u2029', '\u202e', '\u200b', 'é', 'ß', '€')),
        (1, Gen.Elements('\ud800', '\udfff')),
        (1, Gen.Choose(0, 0xFFFF).Select(i => (char)i)));

    private static readonly Gen<byte> s_interestingByte = Gen.Frequency(
        (6, Gen.Choose(0x21, 0x7E).Select(i => (byte)i)),
        (4, Gen.Elements((byte)'\r', (byte)'\n', (byte)' ', (byte)'\\', (byte)0, (byte)0x80, (byte)0xFF)),
        (2, Gen.Choose(0, 255).Select(i => (byte)i)));

    public static Arbitrary<string> Strings() => Arb.From(s_interestingChar.ArrayOf().Select(chars => new string(chars)));

    public static Arbitrary<byte[]> Bytes() => Arb.From(s_interestingByte.ArrayOf());

    [Property(Arbitrary = [typeof(LogTextProperties)], MaxTest = 1000)]
    public bool Any_text_becomes_one_bounded_printable_token_that_reads_back(string value, PositiveInt limitSeed)
    {
        var limit = 4 + limitSeed.Get % 120;
        var escaped = LogText.Of(value, limit);
        return IsOneToken(escaped, limit) && ReadsBack(escaped, Encoding.UTF8.GetBytes(value));
    }

    [Property(Arbitrary = [typeof(LogTextProperties)], MaxTest = 1000)]
    public bool Any_octets_become_one_bounded_printable_token_that_reads_back(byte[] value, PositiveInt limitSeed)
    {
        var limit = 4 + limitSeed.Get % 120;
        var escaped = LogText.Of(value, limit);
        return IsOneToken(escaped, limit) && ReadsBack(escaped, value);
    }

    [Property(Arbitrary = [typeof(LogTextProperties)], MaxTest = 300)]
    public bool An_address_is_one_bounded_printable_token(string value)
    {
        var escaped = LogText.Address(value);
        return value.Length == 0 ? escaped.Length == 0 : IsOneToken(escaped, LogText.AddressLimit);
    }

    [Theory]
    [InlineData("alice", "alice")]
    [InlineData("carol@example.com", "carol@example.com")]
    [InlineData("", "\"\"")]
    [InlineData("a b", @"a\x20b")]
    [InlineData("x\r\nBlocked", @"x\x0d\x0aBlocked")]
    [InlineData(@"a\x20b", @"a\\x20b")]
    [InlineData("jürgen", @"j\xc3\xbcrgen")]
    [InlineData("\u2028", @"\xe2\x80\xa8")]
    public void Escapes_what_a_log_reader_could_misread(string value, string expected)
        => Assert.Equal(expected, LogText.Of(value));

    [Fact]
    public void A_long_value_is_cut_on_a_whole_escape_and_says_so()
    {
        Assert.Equal(new string('a', 64) + LogText.CutMarker, LogText.Of(new string('a', 65)));
        Assert.Equal(new string('a', 64), LogText.Of(new string('a', 64)));
        // "ab" then "\x0d" would end at 6 > 5: the escape is not split.
        Assert.Equal("ab" + LogText.CutMarker, LogText.Of("ab\rc", 5));
    }

    private static bool IsOneToken(string escaped, int limit)
    {
        if (escaped.Length == 0) return false;
        foreach (var c in escaped)
            if (c is < '!' or > '~') return false;
        var body = escaped.EndsWith(LogText.CutMarker, StringComparison.Ordinal) ? escaped[..^LogText.CutMarker.Length] : escaped;
        return body.Length <= limit;
    }

    /// <summary>Undoing the escapes gives the original octets, or a prefix of them when the value was cut.</summary>
    private static bool ReadsBack(string escaped, byte[] original)
    {
        if (original.Length == 0) return escaped == "\"\"";
        var cut = escaped.EndsWith(LogText.CutMarker, StringComparison.Ordinal);
        var body = cut ? escaped[..^LogText.CutMarker.Length] : escaped;
        var octets = new List<byte>();
        for (var i = 0; i < body.Length; i++)
        {
            if (body[i] != '\\')
            {
                octets.Add((byte)body[i]);
            }
            else if (body[i + 1] == '\\')
            {
                octets.Add((byte)'\\');
                i++;
            }
            else
            {
                octets.Add(byte.Parse(body.AsSpan(i + 2, 2), NumberStyles.HexNumber, CultureInfo.InvariantCulture));
                i += 3;
            }
        }
        return cut
            ? octets.Count < original.Length && original.AsSpan(0, octets.Count).SequenceEqual(octets.ToArray())
            : original.AsSpan().SequenceEqual(octets.ToArray());
    }
}
