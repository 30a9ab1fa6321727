using System.Globalization;
using System.Text;

namespace Restante.Auth;

/// <summary>
/// Prepares user names and passwords the same way when they are stored (<c>restante user add/passwd</c>, <c>restante pw</c>)
/// and when they are checked (USER/PASS, SASL PLAIN and LOGIN), so that one person typing the same name or password on
/// two keyboards — a precomposed "é" on one, "e" plus a combining accent on another, a no-break space, a fullwidth
/// letter from an East Asian input method — gets in both times.
/// <para>
/// RFC 6856 §2.2 asks for "SASLprep [RFC4013] or one of its Standards Track successors". The successor is PRECIS,
/// RFC 8265; this implements its two profiles with the base library's Unicode tables (string.Normalize and
/// CharUnicodeInfo), no new dependency:
/// </para>
/// <list type="bullet">
/// <item>Passwords, OpaqueString (RFC 8265 §4.2): non-ASCII spaces become U+0020 ("additional mapping rule"), then
/// NFC; control characters and unassigned code points are refused; the result must not be empty. Case, width and
/// everything else are kept: a password is opaque.</item>
/// <item>User names, UsernameCasePreserved (RFC 8265 §3.4): fullwidth and halfwidth forms become their ordinary
/// letters ("width mapping rule"), then NFC; outside printable ASCII only letters, marks and digits are accepted
/// (IdentifierClass refuses spaces, symbols and punctuation beyond ASCII). Case is preserved, not folded: names have
/// always been compared case-sensitively here and name Maildir directories, so folding would move mailboxes.</item>
/// </list>
/// What is left out and why: SASLprep's NFKC (PRECIS moved to NFC, so "ﬁ" stays a ligature) and the bidi rule
/// (it guards mixed-direction identifiers shown to people; our names are compared, not displayed). ASCII input
/// comes out unchanged, so every existing ASCII name and password works as before.
/// <para>
/// Normalization needs ICU: a process in globalization-invariant mode does not normalize non-ASCII text
/// (<see cref="NormalizationAvailable"/> false), and then names and passwords are only mapped, not normalized. The
/// <c>restante</c> executable runs with ICU (InvariantGlobalization false in its project).
/// </para>
/// </summary>
public static class Precis
{
    /// <summary>Whether this process can normalize non-ASCII text (false in globalization-invariant mode).</summary>
    public static bool NormalizationAvailable { get; } = "e\u0301".Normalize(NormalizationForm.FormC) == "\u00e9";

    public static bool TryPreparePassword(string password, out string prepared, out string error)
    {
        ArgumentNullException.ThrowIfNull(password);
        prepared = string.Empty;
        if (IsAscii(password, out var hasControl))
        {
            if (hasControl) { error = "password contains control characters"; return false; }
            prepared = password;
            error = string.Empty;
            return password.Length > 0 || Fail("password is empty", out error);
        }
        if (!IsWellFormed(password)) return Fail("password is not valid Unicode", out error);
        var mapped = new StringBuilder(password.Length);
        foreach (var rune in password.EnumerateRunes())
            mapped.Append(Rune.GetUnicodeCategory(rune) == UnicodeCategory.SpaceSeparator ? " " : rune.ToString());
        var normalized = mapped.ToString().Normalize(NormalizationForm.FormC);
        foreach (var rune in normalized.EnumerateRunes())
        {
            var category = Rune.GetUnicodeCategory(rune);
            if (category is UnicodeCategory.Control) return Fail("password contains control characters", out error);
            if (category is UnicodeCategory.OtherNotAssigned) return Fail("password contains unassigned characters", out error);
        }
        if (normalized.Length == 0) return Fail("password is empty", out error);
        prepared = normalized;
        error = string.Empty;
        return true;
    }

    public static bool TryPrepareUserName(string name, out string prepared, out string error)
    {
        ArgumentNullException.ThrowIfNull(name);
        prepared = string.Empty;
        if (!IsAscii(name, out _))
        {
            if (!IsWellFormed(name)) return Fail("user name is not valid Unicode", out error);
            var mapped = new StringBuilder(name.Length);
            foreach (var rune in name.EnumerateRunes())
            {
                // RFC 8265 §3.4.1 width mapping: the Halfwidth and Fullwidth Forms block maps to its compatibility decomposition.
                mapped.Append(rune.Value is >= 0xFF00 and <= 0xFFEF ? rune.ToString().Normalize(NormalizationForm.FormKC) : rune.ToString());
            }
            name = mapped.ToString().Normalize(NormalizationForm.FormC);
            foreach (var rune in name.EnumerateRunes())
            {
                if (rune.IsAscii) continue;
                var category = Rune.GetUnicodeCategory(rune);
                var allowed = category is UnicodeCategory.UppercaseLetter or UnicodeCategory.LowercaseLetter or UnicodeCategory.TitlecaseLetter
                    or UnicodeCategory.ModifierLetter or UnicodeCategory.OtherLetter or UnicodeCategory.NonSpacingMark
                    or UnicodeCategory.SpacingCombiningMark or UnicodeCategory.DecimalDigitNumber;
                if (!allowed) return Fail("user name may contain only letters, marks and digits beyond ASCII", out error);
            }
        }
        if (!UserName.IsValid(name, out error)) return false;
        prepared = name;
        return true;
    }

    /// <summary>The password as stored by the CLI: prepared, or unchanged when it cannot be (the caller reports why).</summary>
    public static string PasswordForStorage(string password) => TryPreparePassword(password, out var prepared, out _) ? prepared : password;

    private static bool IsAscii(string text, out bool hasControl)
    {
        hasControl = false;
        foreach (var c in text)
        {
            if (c > 0x7F) return false;
            if (c is < ' ' or '\x7F') hasControl = true;
        }
        return true;
    }

    private static bool IsWellFormed(string text)
    {
        for (var i = 0; i < text.Length; i++)
        {
            if (char.IsHighSurrogate(text[i]) && i + 1 < text.Length && char.IsLowSurrogate(text[i + 1])) { i++; continue; }
            if (char.IsSurrogate(text[i])) return false;
        }
        return true;
    }

    private static bool Fail(string message, out string error)
    {
        error = message;
        return false;
    }
}
