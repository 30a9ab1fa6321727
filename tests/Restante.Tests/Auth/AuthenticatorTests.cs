using Restante.Auth;

namespace Restante.Tests.Auth;

public class AuthenticatorTests
{
    private const string Timestamp = "<1896.697170952@dbc.mtview.ca.us>";
    private const string RfcDigest = "c4c9334bac560ecc979e58001b3e22fb";   // RFC 1939 §7, secret "tanstaaf"

    private static readonly string s_bcryptHash = new BlfCryptScheme(cost: 4).Hash("tanstaaf");

    private static readonly Directory s_users = new(new Dictionary<string, string>
    {
        ["mrose"] = "{PLAIN}tanstaaf",
        ["blf"] = "{BLF-CRYPT}" + s_bcryptHash,
        ["sha"] = "{SHA512-CRYPT}" + ShaCryptScheme.Sha512.Hash("tanstaaf"),
        ["nopass"] = "",
        ["emptyplain"] = "{PLAIN}",
        ["unknownscheme"] = "{FOO}tanstaaf",
    });

    // A cheap dummy hash keeps the failure cases fast; the production dummy is tested once below.
    private static readonly Authenticator s_authenticator = new(s_users, new BlfCryptScheme(cost: 4));

    [Fact]
    public async Task The_production_dummy_refuses_an_unknown_user()
        => Assert.Null(await new Authenticator(s_users).VerifyPasswordAsync("nobody", "tanstaaf", CancellationToken.None));

    [Theory]
    [InlineData("mrose")]
    [InlineData("blf")]
    [InlineData("sha")]
    public async Task Accepts_the_right_password(string user)
        => Assert.Equal(user, await s_authenticator.VerifyPasswordAsync(user, "tanstaaf", CancellationToken.None));

    [Theory]
    [InlineData("mrose", "tanstaaF")]
    [InlineData("blf", "wrong")]
    [InlineData("sha", "")]
    [InlineData("nobody", "tanstaaf")]        // unknown user: same answer as a wrong password
    [InlineData("MROSE", "tanstaaf")]
    [InlineData("nopass", "")]
    [InlineData("nopass", "anything")]
    [InlineData("emptyplain", "")]             // an empty password never logs in
    [InlineData("unknownscheme", "tanstaaf")]
    public async Task Refuses_everything_else_alike(string user, string password)
        => Assert.Null(await s_authenticator.VerifyPasswordAsync(user, password, CancellationToken.None));

    [Fact]
    public async Task Apop_works_for_a_plain_secret()
    {
        Assert.Equal("mrose", await ApopAsync("mrose", Timestamp, RfcDigest, CancellationToken.None));
        Assert.Equal("mrose", await ApopAsync("mrose", Timestamp, RfcDigest.ToUpperInvariant(), CancellationToken.None));
    }

    [Theory]
    [InlineData("mrose", "c4c9334bac560ecc979e58001b3e22fa")]
    [InlineData("blf", RfcDigest)]                 // a hash cannot serve APOP: fails like a wrong digest
    [InlineData("sha", RfcDigest)]
    [InlineData("nobody", RfcDigest)]
    [InlineData("nopass", RfcDigest)]
    [InlineData("emptyplain", "e1d5b1c1d35c7a3bd65c5eb2bd5e0a93")]
    public async Task Apop_fails_alike_otherwise(string user, string digest)
        => Assert.Null(await ApopAsync(user, Timestamp, digest, CancellationToken.None));

    [Fact]
    public async Task Apop_with_the_dummy_secret_does_not_log_in_an_unknown_user()
    {
        // The stand-in secret used for users without a plaintext must never be a way in.
        foreach (var user in new[] { "nobody", "blf" })
        {
            var digest = ApopDigest.Compute(Timestamp, "restante-no-plaintext-secret");
            Assert.Null(await ApopAsync(user, Timestamp, digest, CancellationToken.None));
        }
    }

    // The APOP check the APOP command runs (ApopCommand): the record's name, or null.
    private static async Task<string?> ApopAsync(string user, string timestamp, string digest, CancellationToken ct)
        => (await s_authenticator.AuthenticateApopAsync(user, timestamp, digest, ct))?.Name;

    private sealed class Directory(Dictionary<string, string> passwords) : IUserDirectory
    {
        public ValueTask<UserRecord?> FindAsync(string name, CancellationToken cancellationToken)
            => ValueTask.FromResult(passwords.TryGetValue(name, out var password)
                ? new UserRecord(name, password, new Dictionary<string, string>())
                : null);
    }
}
