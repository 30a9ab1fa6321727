namespace Restante.Auth;

/// <summary>
/// Checks USER/PASS and APOP credentials against a user directory. Answers are the authenticated user name or null,
/// and null never says why: an unknown user, a wrong password, an account without a password and a mechanism the
/// stored scheme cannot serve all look the same and cost about the same, so the answer cannot be used to find out
/// which accounts exist. The failed-login delay is the session's job, not this class's.
/// Every slow password hash (and SCRAM's key derivation) runs on <see cref="Hashing"/>, never on the caller's thread (a one-digest
/// scheme runs inline while nothing is queued); when
/// that is saturated the methods throw <see cref="PasswordHashingBusyException"/> without having checked anything.
/// Passwords are never logged here (nothing is).
/// </summary>
public sealed class Authenticator(IUserDirectory users, PasswordHashing? hashing = null)
{
    private const string DummyPassword = "restante-no-such-user";

    // A stand-in APOP secret, for the same reason as the dummy hash below: the MD5 is computed whether or not the
    // user has a usable secret.
    private const string DummyApopSecret = "restante-no-plaintext-secret";

    // Verified when there is no usable stored hash, so a miss costs what a hit with the default scheme (BLF-CRYPT)
    // costs. Computed once per process, lazily from the default scheme (at its production cost) rather than
    // hard-coded, so the two stay equal. A directory of cheaper or dearer hashes (Dovecot writes bcrypt cost 5,
    // Argon2id costs more) still differs from it: the session answers every failure at a fixed time after the attempt
    // began, which is what really hides the difference.
    private static readonly Lazy<string> s_defaultDummyHash = new(() => PasswordSchemes.Default.Hash(DummyPassword));

    private readonly IPasswordScheme _dummyScheme = PasswordSchemes.Default;
    private readonly Lazy<string> _dummyHash = s_defaultDummyHash;

    // For tests: the production dummy is a cost-10 bcrypt, too slow to pay for in every test of a failed login.
    internal Authenticator(IUserDirectory users, IPasswordScheme dummyScheme)
        : this(users, (PasswordHashing?)null)
    {
        _dummyScheme = dummyScheme;
        _dummyHash = new Lazy<string>(() => dummyScheme.Hash(DummyPassword));
    }

    /// <summary>The user's name if <paramref name="password"/> is right, otherwise null.</summary>
    public async ValueTask<string?> VerifyPasswordAsync(string user, string password, CancellationToken ct)
        => (await AuthenticateAsync(user, password, ct).ConfigureAwait(false))?.Name;

    /// <summary>
    /// The user's record if <paramref name="password"/> is right, otherwise null: what <see cref="VerifyPasswordAsync"/>
    /// checks, returning the record the check looked up so that the login needs no second lookup for its policy fields.
    /// </summary>
    public async ValueTask<UserRecord?> AuthenticateAsync(string user, string password, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(user);
        ArgumentNullException.ThrowIfNull(password);
        // RFC 6856 §2.2: names and passwords are prepared the way the CLI stored them (Precis).
        if (Precis.TryPrepareUserName(user, out var preparedUser, out _)) user = preparedUser;
        var record = await users.FindAsync(user, ct).ConfigureAwait(false);
        if (record is not null
            && password.Length > 0   // an empty password never logs in, even against "{PLAIN}"
            && PasswordSchemes.TryParse(record.Password, out var scheme, out var encoded, out _))
        {
            var prepared = Precis.PasswordForStorage(password);
            var matches = await VerifyAsync(scheme, prepared, encoded, ct).ConfigureAwait(false);
            // A non-ASCII password stored before passwords were prepared was hashed as typed: it still works as typed.
            if (!matches && prepared != password)
                matches = await VerifyAsync(scheme, password, encoded, ct).ConfigureAwait(false);
            return matches ? record : null;
        }
        await Hashing.RunAsync(() => _dummyScheme.Verify(password, _dummyHash.Value), ct).ConfigureAwait(false);
        return null;
    }

    // A scheme whose check is one fast digest runs on the session's thread (PasswordHashing.RunInline), every other on the
    // hashing threads. Only a successful login's timing differs (it shows that user's own scheme, as it always did);
    // a failure is answered at the session's fixed time whatever was checked. That holds only while an unknown name's
    // dummy hash finishes within the failure delay: with checks already queued it would wait behind them and answer
    // later than a fast scheme's wrong password, telling the two apart. So the fast path is taken only with nothing queued.
    private ValueTask<bool> VerifyAsync(IPasswordScheme scheme, string password, string encoded, CancellationToken ct)
        => PasswordSchemes.IsFast(scheme) && Hashing.QueueDepth == 0
            ? ValueTask.FromResult(Hashing.RunInline((scheme, password, encoded), static c => c.scheme.Verify(c.password, c.encoded)))
            : new ValueTask<bool>(Hashing.RunAsync(() => scheme.Verify(password, encoded), ct, memoryHard: scheme is Argon2idScheme));

    /// <summary>The threads every hash runs on; its queue depth is there for metrics.</summary>
    public PasswordHashing Hashing { get; } = hashing ?? PasswordHashing.Shared;

    /// <summary>
    /// True when at least one user has a secret APOP can use (see <see cref="IUserDirectory.HasApopSecrets"/>); the
    /// greeting carries an APOP timestamp only then when <see cref="Pop3.Pop3Options.Apop"/> is Auto.
    /// </summary>
    public bool HasApopSecrets => users.HasApopSecrets;

    /// <summary>
    /// The user's record if <paramref name="digestHex"/> is the RFC 1939 §7 digest of <paramref name="timestamp"/> and the
    /// user's secret, otherwise null. Only users stored with a plaintext-equivalent scheme (PLAIN) can use APOP.
    /// </summary>
    public async ValueTask<UserRecord?> AuthenticateApopAsync(string user, string timestamp, string digestHex, CancellationToken ct)
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
        return matches && secret is not null ? record : null;
    }

    /// <summary>
    /// The user's name if <paramref name="digestHex"/> is HMAC-MD5(secret, challenge) in hex (RFC 2195), otherwise null.
    /// Served by "{PLAIN}" and Dovecot's "{CRAM-MD5}" context; every other scheme fails like a wrong digest.
    /// </summary>
    public async ValueTask<string?> VerifyCramMd5Async(string user, string challenge, string digestHex, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(user);
        ArgumentNullException.ThrowIfNull(challenge);
        ArgumentNullException.ThrowIfNull(digestHex);
        var record = await users.FindAsync(user, ct).ConfigureAwait(false);
        byte[]? context = null;
        if (record is not null && PasswordSchemes.TryParse(record.Password, out var scheme, out var encoded, out _))
        {
            if (scheme.TryGetPlaintext(encoded, out var plaintext) && plaintext.Length > 0)
                context = CramMd5Scheme.FromPassword(plaintext);
            else if (scheme is CramMd5Scheme && CramMd5Scheme.TryGetContext(encoded, out var stored))
                context = stored;
        }
        var usable = context is not null;
        context ??= CramMd5Scheme.FromPassword(DummyApopSecret);
        var expected = CramMd5.Hmac(context, System.Text.Encoding.UTF8.GetBytes(challenge));
        System.Security.Cryptography.CryptographicOperations.ZeroMemory(context);
        Span<byte> client = stackalloc byte[16];
        var matches = digestHex.Length == 32
            && Convert.FromHexString(digestHex, client, out _, out var written) == System.Buffers.OperationStatus.Done
            && written == 16
            && System.Security.Cryptography.CryptographicOperations.FixedTimeEquals(expected, client);
        return matches && usable ? record!.Name : null;
    }

    /// <summary>
    /// What a SCRAM exchange for <paramref name="user"/> runs with. There is always an answer: an unknown user, or a
    /// stored scheme that cannot serve this hash (only "{PLAIN}" and the matching "{SCRAM-…}" can), gets made-up
    /// credentials with a salt that is stable per name, so the server-first message looks the same either way;
    /// <see cref="ScramLookup.User"/> is then null and the exchange must fail at the proof.
    /// </summary>
    public async ValueTask<ScramLookup> LookupScramAsync(string user, ScramHash hash, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(user);
        var record = await users.FindAsync(user, ct).ConfigureAwait(false);
        if (record is not null && PasswordSchemes.TryParse(record.Password, out var scheme, out var encoded, out _))
        {
            if (scheme is ScramScheme stored && stored.Algorithm == hash && ScramCredentials.TryParse(hash, encoded, out var credentials))
                return new ScramLookup(record.Name, credentials);
            if (scheme.TryGetPlaintext(encoded, out var plaintext) && plaintext.Length > 0)
            {
                var derived = await Hashing.RunAsync(
                    () => ScramCredentials.FromPassword(hash, plaintext, DerivedSalt(hash, user), ScramCredentials.DefaultIterations), ct).ConfigureAwait(false);
                return new ScramLookup(record.Name, derived);
            }
        }
        // Same Hi() cost as a PLAIN user; the keys come from a password nobody has.
        // REVIEW: a stored {SCRAM-…} user needs no Hi() here, so its server-first message comes sooner than an unknown
        // user's; the failure itself is answered at the session's fixed time.
        var dummy = await Hashing.RunAsync(
            () => ScramCredentials.FromPassword(hash, DummyPassword + Guid.NewGuid().ToString("N"), DerivedSalt(hash, user), ScramCredentials.DefaultIterations), ct).ConfigureAwait(false);
        return new ScramLookup(null, dummy);
    }

    /// <summary>The user's record (with its extra fields), null when there is no such user.</summary>
    public ValueTask<UserRecord?> FindRecordAsync(string user, CancellationToken ct) => users.FindAsync(user, ct);

    /// <summary>The user's name as stored if the user exists (for token logins, which bring no password), else null.</summary>
    public async ValueTask<string?> FindUserAsync(string user, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(user);
        var record = await users.FindAsync(user, ct).ConfigureAwait(false);
        return record?.Name;
    }

    // A salt for credentials derived on the fly: stable for a name within this process, unpredictable outside it.
    // REVIEW: it changes at restart, so a client that caches SaltedPassword (RFC 5802 allows it) recomputes once.
    private static byte[] DerivedSalt(ScramHash hash, string user)
        => System.Security.Cryptography.HMACSHA256.HashData(s_saltKey, System.Text.Encoding.UTF8.GetBytes(hash.SchemeName() + "\0" + user))[..16];

    private static readonly byte[] s_saltKey = System.Security.Cryptography.RandomNumberGenerator.GetBytes(32);
}
