using Restante.Storage.Maildir;

namespace Restante.Tests.Storage;

public class MaildirNameTests
{
    [Theory]
    [InlineData("1700000000.M1P2.host,S=123,W=130:2,S", "1700000000.M1P2.host")]
    [InlineData("1700000000.M1P2.host:2,", "1700000000.M1P2.host")]
    [InlineData("1700000000.M1P2.host", "1700000000.M1P2.host")]
    [InlineData("1700000000.M1P2.host,S=5", "1700000000.M1P2.host")]
    public void Base_is_before_fields_and_info(string name, string expected) =>
        Assert.Equal(expected, MaildirName.Base(name).ToString());

    [Theory]
    [InlineData("1700000000.x,S=123,W=130:2,S", 'W', 130)]
    [InlineData("1700000000.x,S=123,W=130:2,S", 'S', 123)]
    [InlineData("1700000000.x,W=7", 'W', 7)]
    public void Reads_size_fields(string name, char key, long expected)
    {
        Assert.True(MaildirName.TryGetField(name, key, out var value));
        Assert.Equal(expected, value);
    }

    [Theory]
    [InlineData("1700000000.x")]
    [InlineData("1700000000.x:2,W=5")]     // after the info separator it is a flag list, not a field
    [InlineData("1700000000.x,W=abc")]
    [InlineData("1700000000.x,W=-5")]
    public void Ignores_missing_or_malformed_fields(string name) =>
        Assert.False(MaildirName.TryGetField(name, 'W', out _));

    [Theory]
    [InlineData("1700000000.x", true, 1700000000)]
    [InlineData("999.x", true, 999)]
    [InlineData("abc.x", false, 0)]
    [InlineData("1234567890123456789012.x", false, 0)]
    public void Reads_leading_time(string name, bool expected, long seconds)
    {
        Assert.Equal(expected, MaildirName.TryGetTime(name, out var value));
        Assert.Equal(seconds, value);
    }

    [Fact]
    public void A_legal_base_is_its_own_uid() =>
        Assert.Equal("1700000000.M1P2.host", MaildirName.ToUid("1700000000.M1P2.host"));

    [Theory]
    [InlineData(71)]
    [InlineData(300)]
    public void A_long_base_is_hashed(int length)
    {
        var name = "1700000000." + new string('a', length - 11);
        var uid = MaildirName.ToUid(name);
        AssertLegalHashedUid(uid);
        Assert.Equal(uid, MaildirName.ToUid(name));                        // stable
        Assert.NotEqual(uid, MaildirName.ToUid(name + "b"));               // distinct
    }

    [Fact]
    public void A_base_of_exactly_70_is_kept() =>
        Assert.Equal(new string('7', 70), MaildirName.ToUid(new string('7', 70)));

    [Theory]
    [InlineData("1700000000.caf\u00e9")]
    [InlineData("1700000000.a b")]
    [InlineData("1700000000.tab\there")]
    [InlineData("1700000000.del\u007f")]
    [InlineData("")]
    public void A_base_with_odd_characters_is_hashed(string name) => AssertLegalHashedUid(MaildirName.ToUid(name));

    [Fact]
    public void A_base_that_looks_hashed_is_hashed_again_so_it_cannot_collide()
    {
        var hashed = MaildirName.ToUid(new string('a', 100));
        var again = MaildirName.ToUid(hashed);
        AssertLegalHashedUid(again);
        Assert.NotEqual(hashed, again);
    }

    [Fact]
    public void Host_escapes_follow_the_maildir_spec() =>
        Assert.Equal(@"a\057b\072c\054d", DeliveryName.EscapeHost("a/b:c,d"));

    [Fact]
    public void Delivery_names_are_unique_and_well_formed()
    {
        var names = Enumerable.Range(0, 1000).Select(_ => DeliveryName.Create(TimeProvider.System)).ToArray();
        Assert.Equal(names.Length, names.Distinct(StringComparer.Ordinal).Count());
        foreach (var name in names)
        {
            Assert.Matches(@"^\d+\.M\d+P\d+Q\d+R[0-9a-f]{16}\.[^/:,]+$", name);
            Assert.Equal(name, MaildirName.ToUid(name));
        }
    }

    private static void AssertLegalHashedUid(string uid)
    {
        Assert.Matches("^X[0-9a-f]{40}$", uid);
        Assert.InRange(uid.Length, 1, 70);
        Assert.All(uid, c => Assert.InRange(c, '!', '~'));
    }

    [Fact]
    public void Names_delivered_within_one_second_sort_in_arrival_order()
    {
        // 0.099999 s and 0.100000 s past the same second: unpadded microseconds ("M99999" > "M100000")
        // once put the later delivery first.
        var time = new Microsoft.Extensions.Time.Testing.FakeTimeProvider(DateTimeOffset.FromUnixTimeSeconds(1_700_000_000).AddTicks(99_999 * TimeSpan.TicksPerMicrosecond));
        var earlier = DeliveryName.Create(time);
        time.Advance(TimeSpan.FromMicroseconds(1));
        var later = DeliveryName.Create(time);
        Assert.True(string.CompareOrdinal(earlier, later) < 0, $"{earlier} sorts after {later}");
    }
}
