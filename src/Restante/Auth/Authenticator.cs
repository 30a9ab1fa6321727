namespace Restante.Auth;

/// <summary>
/// Checks USER/PASS and APOP credentials against a user directory. Answers are the authenticated user name or null,
/// and null never says why: an unknown user, a wrong password, an account without a password and a mechanism the
/// stored scheme cannot serve all look the same and cost about the same, so the answer cannot be used to find out
/// which accounts exist. The failed-login delay is the session's job, not this class's.
/// Passwords are never logged here (nothing is).
/// </summary>
public sealed class Authenticator(IUserDirectory users)
{
    private const string DummyPassword = "restante-no-such-user";

    // A stand-in APOP secret, for the same reason as the dummy hash below: the MD5 is computed whether or not the
    // user has a usable secret.
    private const string DummyApopSecret = "restante-no-plaintext-secret";

    // Verified when there is no usable stored hash, so a miss costs what a hit with the default scheme costs.
    // Created lazily from the default scheme (at its production cost) rather than hard-coded, so the two stay equal.
    // REVIEW: a directory full of cheaper hashes (Dovecot writes bcrypt cost 5) still answers a miss more slowly than
    // a hit; the session's failed-login delay is what really hides the difference.
    private static readonly Lazy<string> s_defaultDummyHash = new(() => PasswordSchemes.Default.Hash(DummyPassword));

    private readonly IPasswordScheme _dummyScheme = PasswordSchemes.Default;
    private readonly Lazy<string> _dummyHash = s_defaultDummyHash;

    // For tests: the production dummy is a cost-10 bcrypt, too slow to pay for in every test of a failed login.
    internal Authenticator(IUserDirectory users, IPasswordScheme dummyScheme)
        : this(users)
    {
        _dummyScheme = dummyScheme;
        _dummyHash = new Lazy<string>(() => dummyScheme.Hash(DummyPassword));
    }

    /// <summary>The user's name if <paramref name="password"/> is right, otherwise null.</summary>
    public async ValueTask<string?> VerifyPasswordAsync(string user, string password, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(user);
        ArgumentNullException.ThrowIfNull(password);
        var record = await users.FindAsync(user, ct).ConfigureAwait(false);
        if (record is not null
            && password.Length > 0   // an empty password never logs in, even against "{PLAIN}"
            && PasswordSchemes.TryParse(record.Password, out var scheme, out var encoded, out _))
        {
            return scheme.Verify(password, encoded) ? record.Name : null;
        }
        _dummyScheme.Verify(password, _dummyHash.Value);
        return null;
    }

    /// <summary>
    /// The user's name if <paramref name="digestHex"/> is the RFC 1939 §7 digest of <paramref name="timestamp"/> and the
    /// user's secret, otherwise null. Only users stored with a plaintext-equivalent scheme (PLAIN) can use APOP.
    /// </summary>
    public async ValueTask<string?> VerifyApopAsync(string user, string timestamp, string digestHex, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(user);
        ArgumentNullException.ThrowIfNull(timestamp);
        ArgumentNullException.ThrowIfNull(digestHex);
        var record = await users.FindAsync(user, ct).ConfigureAwait(false);
        string? secret = null;
        if (record is not null
            && PasswordSchemes.TryParse(record.Password, out var scheme, out var encoded, out _)
            && scheme.TryGetPlaintext(encoded, out var plaintext)
            && plaintext.Length > 0)
        {
            secret = plaintext;
        }
        var matches = ApopDigest.Matches(timestamp, secret ?? DummyApopSecret, digestHex);
        return matches && secret is not null ? record!.Name : null;
    }
}
