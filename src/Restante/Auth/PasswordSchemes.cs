using System.Collections.Frozen;

namespace Restante.Auth;

/// <summary>
/// The known schemes by name, and the parser for stored secrets "{SCHEME}encoded" (Dovecot's syntax).
/// Names are case-insensitive, as in Dovecot.
/// </summary>
public static class PasswordSchemes
{
    private static readonly FrozenDictionary<string, IPasswordScheme> s_byName = new Dictionary<string, IPasswordScheme>
    {
        ["PLAIN"] = PlainScheme.Instance,
        // Dovecot's older spellings of PLAIN; files written for it use them.
        ["CLEAR"] = PlainScheme.Instance,
        ["CLEARTEXT"] = PlainScheme.Instance,
        ["BLF-CRYPT"] = new BlfCryptScheme(),
        ["SHA256-CRYPT"] = ShaCryptScheme.Sha256,
        ["SHA512-CRYPT"] = ShaCryptScheme.Sha512,
        ["ARGON2ID"] = Argon2idScheme.Instance,
        ["PBKDF2"] = Pbkdf2Scheme.Instance,
        ["SSHA512"] = SaltedShaScheme.Ssha512,
        ["SSHA256"] = SaltedShaScheme.Ssha256,
        ["SSHA"] = SaltedShaScheme.Ssha,
        ["SCRAM-SHA-256"] = ScramScheme.Sha256,
        ["SCRAM-SHA-1"] = ScramScheme.Sha1,
        ["CRAM-MD5"] = CramMd5Scheme.Instance,
    }.ToFrozenDictionary(StringComparer.OrdinalIgnoreCase);

    /// <summary>The scheme new users get: bcrypt, slow by design and the Dovecot recommendation.</summary>
    public static IPasswordScheme Default => s_byName["BLF-CRYPT"];

    /// <summary>
    /// True for the schemes whose check is a single fast digest (PLAIN, SSHA*): microseconds, cheaper than a hand-off
    /// to the hashing threads. Every deliberately slow scheme (bcrypt, SHA-crypt, PBKDF2, Argon2id) answers false.
    /// </summary>
    internal static bool IsFast(IPasswordScheme scheme) => scheme is PlainScheme or SaltedShaScheme;

    /// <summary>The canonical names, aliases excluded (for help texts).</summary>
    public static IReadOnlyList<string> Names { get; } =
    [
        "BLF-CRYPT", "ARGON2ID", "SHA512-CRYPT", "SHA256-CRYPT", "PBKDF2", "SSHA512", "SSHA256", "SSHA",
        "SCRAM-SHA-256", "SCRAM-SHA-1", "CRAM-MD5", "PLAIN",
    ];

    /// <summary>The scheme called <paramref name="name"/> (case-insensitive, aliases included).</summary>
    /// <exception cref="ArgumentException">No such scheme.</exception>
    public static IPasswordScheme Get(string name)
        => TryGet(name, out var scheme)
            ? scheme
            : throw new ArgumentException($"unknown password scheme {{{name}}}", nameof(name));

    /// <summary>Looks a scheme up by name (case-insensitive, aliases included).</summary>
    public static bool TryGet(string name, out IPasswordScheme scheme)
    {
        ArgumentNullException.ThrowIfNull(name);
        return s_byName.TryGetValue(name, out scheme!);
    }

    /// <summary>
    /// Splits "{SCHEME}encoded". Fails, with an error suitable for an operator, when the braces are missing or the
    /// scheme is unknown. The error never contains the secret itself.
    /// </summary>
    public static bool TryParse(string stored, out IPasswordScheme scheme, out string encoded, out string error)
    {
        ArgumentNullException.ThrowIfNull(stored);
        scheme = null!;
        encoded = "";
        if (stored.Length == 0)
        {
            error = "empty password";
            return false;
        }
        var close = stored.IndexOf('}', StringComparison.Ordinal);
        if (stored[0] != '{' || close < 0)
        {
            // Dovecot would fall back to default_pass_scheme here; we refuse to guess how a secret is encoded.
            error = "password has no {SCHEME} prefix";
            return false;
        }
        var name = stored[1..close];
        if (!TryGet(name, out scheme))
        {
            error = $"unknown password scheme {{{name}}}";
            return false;
        }
        encoded = stored[(close + 1)..];
        error = "";
        return true;
    }
}
