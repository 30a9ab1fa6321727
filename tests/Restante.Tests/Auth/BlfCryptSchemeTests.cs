using Restante.Auth;

namespace Restante.Tests.Auth;

public class BlfCryptSchemeTests
{
    // Produced with Python's crypt module (libxcrypt): the same salt under the three accepted prefixes gives the
    // same hash, and a UTF-8 password at cost 5 (Dovecot's own default cost).
    [Theory]
    [InlineData("secret", "$2y$04$LgxcKP8d2Xw5qKVDjTGLNeyNaIuZ89rdHbvvF1Gph7hCX3OMqDuIG")]
    [InlineData("secret", "$2b$04$LgxcKP8d2Xw5qKVDjTGLNeyNaIuZ89rdHbvvF1Gph7hCX3OMqDuIG")]
    [InlineData("secret", "$2a$04$LgxcKP8d2Xw5qKVDjTGLNeyNaIuZ89rdHbvvF1Gph7hCX3OMqDuIG")]
    [InlineData("pässwörd", "$2y$05$0123456789abcdefghijkOLnaMx7EDC7NMKuB7ZOhgm77dDDklrNu")]
    public void Verifies_vectors_from_libxcrypt(string password, string encoded)
    {
        var scheme = PasswordSchemes.Get("BLF-CRYPT");
        Assert.True(scheme.Verify(password, encoded));
        Assert.False(scheme.Verify(password + "x", encoded));
    }

    [Theory]
    [InlineData("$2x$04$LgxcKP8d2Xw5qKVDjTGLNeyNaIuZ89rdHbvvF1Gph7hCX3OMqDuIG")]   // the buggy variant
    [InlineData("$2y$04$LgxcKP8d2Xw5qKVDjTGLNeyNaIuZ89rdHbvvF1Gph7hCX3OMqDuI")]    // truncated
    [InlineData("$2y$03$LgxcKP8d2Xw5qKVDjTGLNeyNaIuZ89rdHbvvF1Gph7hCX3OMqDuIG")]   // cost below 4
    [InlineData("$2y$04$LgxcKP8d2Xw5qKVDjTGLNeyNaIuZ89rdHbvvF1Gph7hCX3OMqDu:G")]   // not bcrypt base-64
    [InlineData("")]
    public void Malformed_hashes_are_mismatches(string encoded)
        => Assert.False(PasswordSchemes.Get("BLF-CRYPT").Verify("secret", encoded));

    [Fact]
    public void New_hashes_use_the_dovecot_prefix()
    {
        var encoded = new BlfCryptScheme(cost: 4).Hash("secret");
        Assert.StartsWith("$2y$04$", encoded, StringComparison.Ordinal);
        Assert.Equal(60, encoded.Length);
    }
}
