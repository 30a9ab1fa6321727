using System.Text;
using Restante.Protocol;

namespace Restante.Tests.Protocol;

public class CommandParserTests
{
    [Theory]
    [InlineData("STAT", Pop3Verb.Stat, "")]
    [InlineData("stat", Pop3Verb.Stat, "")]
    [InlineData("StAt", Pop3Verb.Stat, "")]
    [InlineData("top 1 10", Pop3Verb.Top, "1 10")]
    [InlineData("PASS my secret  ", Pop3Verb.Pass, "my secret  ")]   // RFC 1939 §7: spaces are part of a password
    [InlineData("pass  x ", Pop3Verb.Pass, " x ")]
    [InlineData("USER alice", Pop3Verb.User, "alice")]
    [InlineData("USER alice  ", Pop3Verb.User, "alice")]
    [InlineData("LIST", Pop3Verb.List, "")]
    [InlineData("uidl 3", Pop3Verb.Uidl, "3")]
    [InlineData("CAPA", Pop3Verb.Capa, "")]
    [InlineData("APOP mrose c4c9334bac560ecc979e58001b3e22fb", Pop3Verb.Apop, "mrose c4c9334bac560ecc979e58001b3e22fb")]
    [InlineData("STATS", Pop3Verb.Unknown, "")]
    [InlineData("ST", Pop3Verb.Unknown, "")]
    [InlineData("", Pop3Verb.Unknown, "")]
    [InlineData(" STAT", Pop3Verb.Unknown, "STAT")]
    public void Recognises_keywords_case_insensitively(string line, Pop3Verb verb, string arguments)
    {
        Assert.Equal(verb, CommandParser.Parse(Encoding.ASCII.GetBytes(line), out var args));
        Assert.Equal(arguments, Encoding.ASCII.GetString(args));
    }

    [Fact]
    public void Nul_and_8bit_bytes_are_just_unknown()
    {
        Assert.Equal(Pop3Verb.Unknown, CommandParser.Parse([0, 0, 0, 0], out _));
        Assert.Equal(Pop3Verb.Unknown, CommandParser.Parse([0xC3, 0xA9, 0xFF], out _));
        Assert.Equal(Pop3Verb.Unknown, CommandParser.Parse("ST\0T"u8, out _));
    }
}
