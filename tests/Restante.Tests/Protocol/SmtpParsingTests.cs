using System.Buffers;
using System.Text;
using Restante.Delivery;
using Restante.Protocol;

namespace Restante.Tests.Protocol;

public class SmtpParsingTests
{
    [Theory]
    [InlineData("LHLO client", SmtpVerb.Lhlo, "client")]
    [InlineData("mail FROM:<a@b>  ", SmtpVerb.Mail, "FROM:<a@b>")]
    [InlineData("DATA", SmtpVerb.Data, "")]
    [InlineData("noop  x ", SmtpVerb.Noop, "x")]
    [InlineData("STARTTLS", SmtpVerb.Unknown, "")]
    [InlineData("", SmtpVerb.Unknown, "")]
    public void Commands_parse(string line, SmtpVerb verb, string arguments)
    {
        var bytes = Encoding.ASCII.GetBytes(line);
        Assert.Equal(verb, SmtpCommandParser.Parse(bytes, out var range));
        Assert.Equal(arguments, Encoding.ASCII.GetString(bytes[range]));
    }

    [Theory]
    [InlineData("FROM:<alice@example.com>", "alice@example.com", "")]
    [InlineData("from:<>", "", "")]
    [InlineData("FROM: <a@b> SIZE=10 BODY=8BITMIME", "a@b", "SIZE=10 BODY=8BITMIME")]
    [InlineData("FROM:<@relay.example,@other.example:user@example.com>", "user@example.com", "")]
    [InlineData("FROM:<\"odd > name\"@example.com>", "\"odd > name\"@example.com", "")]
    [InlineData("FROM:bare@example.com SIZE=1", "bare@example.com", "SIZE=1")]
    public void Paths_parse(string arguments, string address, string parameters)
    {
        Assert.True(MailPath.TryParse(Encoding.ASCII.GetBytes(arguments), "FROM:"u8, out var parsed, out var rest, out var error), error);
        Assert.Equal(address, parsed);
        Assert.Equal(parameters, Encoding.ASCII.GetString(rest));
    }

    [Theory]
    [InlineData("TO:<a@b>")]
    [InlineData("FROM:<a@b")]
    [InlineData("FROM:<a@b>SIZE=1")]
    [InlineData("FROM:")]
    [InlineData("FROM:<a\u00e9@b>")]
    public void Bad_paths_are_refused(string arguments)
        => Assert.False(MailPath.TryParse(Encoding.Latin1.GetBytes(arguments), "FROM:"u8, out _, out _, out _));

    [Fact]
    public void Paths_over_256_octets_are_refused()   // RFC 5321 §4.5.3.1.3
        => Assert.False(MailPath.TryParse(Encoding.ASCII.GetBytes("TO:<" + new string('a', 251) + "@b.c>"), "TO:"u8, out _, out _, out _));

    [Theory]
    [InlineData("alice@example.com", "alice", "example.com")]
    [InlineData("alice", "alice", "")]
    [InlineData("\"al\\\"ice\"@example.com", "al\"ice", "example.com")]
    [InlineData("\"a@b\"@example.com", "a@b", "example.com")]
    public void Mailboxes_split_into_local_part_and_domain(string mailbox, string local, string domain)
    {
        Assert.True(MailPath.TrySplit(mailbox, out var l, out var d));
        Assert.Equal((local, domain), (l, d));
    }

    [Fact]
    public void Data_lines_know_how_they_ended_in_any_framing()
    {
        foreach (var input in Framings.All("a\r\n.\n.\r\n"u8.ToArray()))
        {
            var buffer = input;
            var seen = new List<(string, bool)>();
            while (DataLine.TryTake(ref buffer, 1000, out var line, out var crlf) == LineStatus.Complete)
                seen.Add((Encoding.ASCII.GetString(line.ToArray()), crlf));
            Assert.Equal([("a", true), (".", false), (".", true)], seen);
        }
    }

    [Fact]
    public void Data_lines_have_a_ceiling_and_lose_one_stuffed_dot()
    {
        var buffer = new ReadOnlySequence<byte>(Encoding.ASCII.GetBytes(new string('x', 999) + "\r\n"));
        Assert.Equal(LineStatus.TooLong, DataLine.TryTake(ref buffer, 1000, out _, out _));
        Assert.Equal("..x"u8.ToArray()[1..], DataLine.Unstuff(new ReadOnlySequence<byte>("..x"u8.ToArray())).ToArray());
    }

    [Theory]
    [InlineData("*:storage=100M", 0, 100L << 20)]
    [InlineData("*:storage=2048", 0, 2048L * 1024)]
    [InlineData("*:bytes=2048", 0, 2048)]
    [InlineData("*:storage=1G:messages=10", 0, 1L << 30)]
    [InlineData("*:storage=+10M", 100L << 20, 110L << 20)]
    [InlineData("*:storage=0", 100L << 20, 0)]
    [InlineData("*:messages=10", 5, 5)]
    public void Quota_rules_read_like_Dovecot(string rule, long defaultLimit, long limit)
    {
        Assert.True(QuotaRule.TryParse(rule, defaultLimit, out var parsed, out var error), error);
        Assert.Equal(limit, parsed);
    }

    [Theory]
    [InlineData("INBOX:storage=1M")]
    [InlineData("*:storage=lots")]
    public void Unreadable_quota_rules_fall_back_to_the_default(string rule)
    {
        var limit = QuotaRule.LimitFor(new Dictionary<string, string> { ["userdb_quota_rule"] = rule }, 7, out var problem);
        Assert.Equal(7, limit);
        Assert.NotNull(problem);
    }

    [Theory]
    [InlineData("50M", 50L << 20)]
    [InlineData("512k", 512L * 1024)]
    [InlineData("10 MB", 10L << 20)]
    [InlineData("123", 123)]
    public void Sizes_parse(string text, long bytes)
    {
        Assert.True(ByteSize.TryParse(text, 1, out var parsed));
        Assert.Equal(bytes, parsed);
    }

    [Fact]
    public void Trace_header_dates_follow_RFC_5322()
        => Assert.Equal("Tue, 01 Jul 2025 12:03:04 -0230", TraceHeaders.FormatDate(new DateTimeOffset(2025, 7, 1, 12, 3, 4, new TimeSpan(-2, -30, 0))));
}
