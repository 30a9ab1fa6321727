namespace Restante.Auth;

/// <summary>
/// One way of storing a password, named like Dovecot's schemes ("PLAIN", "BLF-CRYPT", "SHA512-CRYPT").
/// A stored secret is written "{NAME}encoded"; <see cref="PasswordSchemes"/> splits it and finds the scheme.
/// </summary>
public interface IPasswordScheme
{
    /// <summary>The canonical upper-case name written between the braces.</summary>
    string Name { get; }

    /// <summary>
    /// True when <paramref name="password"/> matches <paramref name="encoded"/> (the part after "{NAME}").
    /// A malformed <paramref name="encoded"/> value is a mismatch, not an exception: a login must never crash on data.
    /// </summary>
    bool Verify(ReadOnlySpan<char> password, string encoded);

    /// <summary>Encodes a new password (with a fresh random salt where the scheme has one), without the "{NAME}" prefix.</summary>
    string Hash(ReadOnlySpan<char> password);

    /// <summary>
    /// True only for schemes that keep the plaintext (PLAIN): APOP and CRAM-MD5 need the plaintext-equivalent secret
    /// and cannot be served from a one-way hash.
    /// </summary>
    bool TryGetPlaintext(string encoded, out string plaintext);
}
