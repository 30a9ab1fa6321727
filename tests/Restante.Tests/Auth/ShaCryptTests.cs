using Restante.Auth;

namespace Restante.Tests.Auth;

public class ShaCryptTests
{
    // The test vectors published with Drepper's "Unix crypt using SHA-256 and SHA-512" (checked against libxcrypt and
    // `openssl passwd -5/-6`): default rounds, custom rounds, a salt cut to 16 characters, and too few rounds raised to 1000.
    [Theory]
    [InlineData("$5$saltstring", "Hello world!",
        "$5$saltstring$5B8vYYiY.CVt1RlTTf8KbXBH3hsxY/GNooZaBBGWEc5")]
    [InlineData("$5$rounds=10000$saltstringsaltstring", "Hello world!",
        "$5$rounds=10000$saltstringsaltst$3xv.VbSHBb41AL9AvLeujZkZRBAwqFMz2.opqey6IcA")]
    [InlineData("$5$rounds=5000$toolongsaltstring", "This is just a test",
        "$5$rounds=5000$toolongsaltstrin$Un/5jzAHMgOGZ5.mWJpuVolil07guHPvOW8mGRcvxa5")]
    [InlineData("$5$rounds=1400$anotherlongsaltstring", "a very much longer text to encrypt.  This one even stretches over morethan one line.",
        "$5$rounds=1400$anotherlongsalts$Rx.j8H.h8HjEDGomFU8bDkXm3XIUnzyxf12oP84Bnq1")]
    [InlineData("$5$rounds=77777$short", "we have a short salt string but not a short password",
        "$5$rounds=77777$short$JiO1O3ZpDAxGJeaDIuqCoEFysAe1mZNJRs3pw0KQRd/")]
    [InlineData("$5$rounds=123456$asaltof16chars..", "a short string",
        "$5$rounds=123456$asaltof16chars..$gP3VQ/6X7UUEW3HkBn2w1/Ptq2jxPyzV/cZKmF/wJvD")]
    [InlineData("$5$rounds=10$roundstoolow", "the minimum number is still observed",
        "$5$rounds=1000$roundstoolow$yfvwcWrQ8l/K0DAWyuPMDNHpIVlTQebY9l/gL972bIC")]
    public void Sha256_spec_vectors(string setting, string password, string expected)
        => Assert.Equal(expected, ShaCrypt.Crypt(password, setting, 256));

    [Theory]
    [InlineData("$6$saltstring", "Hello world!",
        "$6$saltstring$svn8UoSVapNtMuq1ukKS4tPQd8iKwSMHWjl/O817G3uBnIFNjnQJuesI68u4OTLiBFdcbYEdFCoEOfaS35inz1")]
    [InlineData("$6$rounds=10000$saltstringsaltstring", "Hello world!",
        "$6$rounds=10000$saltstringsaltst$OW1/O6BYHV6BcXZu8QVeXbDWra3Oeqh0sbHbbMCVNSnCM/UrjmM0Dp8vOuZeHBy/YTBmSK6H9qs/y3RnOaw5v.")]
    [InlineData("$6$rounds=5000$toolongsaltstring", "This is just a test",
        "$6$rounds=5000$toolongsaltstrin$lQ8jolhgVRVhY4b5pZKaysCLi0QBxGoNeKQzQ3glMhwllF7oGDZxUhx1yxdYcz/e1JSbq3y6JMxxl8audkUEm0")]
    [InlineData("$6$rounds=1400$anotherlongsaltstring", "a very much longer text to encrypt.  This one even stretches over morethan one line.",
        "$6$rounds=1400$anotherlongsalts$POfYwTEok97VWcjxIiSOjiykti.o/pQs.wPvMxQ6Fm7I6IoYN3CmLs66x9t0oSwbtEW7o7UmJEiDwGqd8p4ur1")]
    [InlineData("$6$rounds=77777$short", "we have a short salt string but not a short password",
        "$6$rounds=77777$short$WuQyW2YR.hBNpjjRhpYD/ifIw05xdfeEyQoMxIXbkvr0gge1a1x3yRULJ5CCaUeOxFmtlcGZelFl5CxtgfiAc0")]
    [InlineData("$6$rounds=123456$asaltof16chars..", "a short string",
        "$6$rounds=123456$asaltof16chars..$BtCwjqMJGx5hrJhZywWvt0RLE8uZ4oPwcelCjmw2kSYu.Ec6ycULevoBK25fs2xXgMNrCzIMVcgEJAstJeonj1")]
    [InlineData("$6$rounds=10$roundstoolow", "the minimum number is still observed",
        "$6$rounds=1000$roundstoolow$kUMsbe306n21p9R.FRkW3IGn.S9NPN0x50YhH1xhLsPuWGsUSklZt58jaTfF4ZEQpyUNGc0dqbpBYYBaHHrsX.")]
    public void Sha512_spec_vectors(string setting, string password, string expected)
        => Assert.Equal(expected, ShaCrypt.Crypt(password, setting, 512));

    // Produced with Python's crypt module (libxcrypt) and `openssl passwd -6 -salt Ab9/xY 'pässwörd'`:
    // UTF-8 passwords, an empty password, and a password longer than several digest blocks.
    [Theory]
    [InlineData("SHA512-CRYPT", "pässwörd", "$6$Ab9/xY$q/Jnl3uDU2ISR52E4QCzBz14d6O4f.fIEJlvMY44Qxcseu5yB3KASpebObKbRtji8SQyinZUjY/TX.YGJS.Vk0")]
    [InlineData("SHA256-CRYPT", "", "$5$emptypw$j9q8SS0S/38BPIfLsJXsxKvW/sehZJL1AxFdvBj6YQ2")]
    public void Verifies_hashes_from_other_tools(string scheme, string password, string encoded)
    {
        Assert.True(PasswordSchemes.Get(scheme).Verify(password, encoded));
        Assert.False(PasswordSchemes.Get(scheme).Verify(password + "x", encoded));
    }

    [Fact]
    public void Verifies_a_long_password()
    {
        var encoded = "$6$long$RTZRAtTLWgpadPx5OeOFsuzafa7m3kN6Wg1my.cQOn3qjpHNj9LywSoA.kJYKMP.BhjKdF5OZsCM58Vsx983f/";
        Assert.True(ShaCryptScheme.Sha512.Verify(new string('x', 200), encoded));
        Assert.False(ShaCryptScheme.Sha512.Verify(new string('x', 199), encoded));
    }

    [Theory]
    [InlineData("")]
    [InlineData("$6$")]
    [InlineData("$6$saltstring")]                   // a setting, not a hash
    [InlineData("$5$saltstring$5B8vYYiY.CVt1RlTTf8KbXBH3hsxY/GNooZaBBGWEc5")]   // the SHA-256 variant
    [InlineData("$6$saltstring$svn8UoSVapNtMuq1ukKS4tPQd8iKwSMHWjl/O817G3uBnIFNjnQJuesI68u4OTLiBFdcbYEdFCoEOfaS35inz")]  // truncated
    [InlineData("$6$salt:string$abc")]
    public void Malformed_hashes_are_mismatches(string encoded)
        => Assert.False(ShaCryptScheme.Sha512.Verify("Hello world!", encoded));

    [Fact]
    public void Custom_rounds_are_written_into_new_hashes()
    {
        var scheme = new ShaCryptScheme(256, rounds: 1000);
        var encoded = scheme.Hash("pw");
        Assert.StartsWith("$5$rounds=1000$", encoded, StringComparison.Ordinal);
        Assert.True(scheme.Verify("pw", encoded));
        // Any SHA256-CRYPT instance verifies it: the rounds come from the hash, not the instance.
        Assert.True(ShaCryptScheme.Sha256.Verify("pw", encoded));
    }

    [Fact]
    public void Default_rounds_are_not_written()
    {
        var encoded = ShaCryptScheme.Sha512.Hash("pw");
        Assert.Matches(@"^\$6\$[./0-9A-Za-z]{16}\$[./0-9A-Za-z]{86}$", encoded);
    }
}
