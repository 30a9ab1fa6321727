using Restante.Auth;

namespace Restante.Tests.Auth;

public class ApopDigestTests
{
    // RFC 1939 §7, the APOP example.
    private const string Timestamp = "<1896.697170952@dbc.mtview.ca.us>";
    private const string Secret = "tanstaaf";
    private const string Digest = "c4c9334bac560ecc979e58001b3e22fb";

    [Fact]
    public void Computes_the_rfc_1939_example() => Assert.Equal(Digest, ApopDigest.Compute(Timestamp, Secret));

    [Theory]
    [InlineData(Digest)]
    [InlineData("C4C9334BAC560ECC979E58001B3E22FB")]
    [InlineData("c4C9334bAc560ecc979e58001b3e22Fb")]
    public void Matches_in_either_case(string digest) => Assert.True(ApopDigest.Matches(Timestamp, Secret, digest));

    [Theory]
    [InlineData("c4c9334bac560ecc979e58001b3e22fa")]   // last digit off
    [InlineData("c4c9334bac560ecc979e58001b3e22f")]    // too short
    [InlineData("c4c9334bac560ecc979e58001b3e22fb0")]  // too long
    [InlineData("z4c9334bac560ecc979e58001b3e22fb")]   // not hex
    [InlineData("")]
    public void Rejects_other_digests(string digest) => Assert.False(ApopDigest.Matches(Timestamp, Secret, digest));

    [Fact]
    public void Depends_on_the_timestamp()
        => Assert.False(ApopDigest.Matches("<1896.697170953@dbc.mtview.ca.us>", Secret, Digest));
}
