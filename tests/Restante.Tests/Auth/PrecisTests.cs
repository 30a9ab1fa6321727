using Restante.Auth;

namespace Restante.Tests.Auth;

/// <summary>RFC 8265 preparation (OpaqueString for passwords, UsernameCasePreserved for names), as Precis implements it.</summary>
public class PrecisTests
{
    [Theory]
    [InlineData("correct horse", "correct horse")]             // ASCII: unchanged
    [InlineData("Pa\u0308sswort", "P\u00e4sswort")]              // NFC
    [InlineData("pass\u00A0word", "pass word")]                  // non-ASCII space to U+0020
    [InlineData("pass\u3000word", "pass word")]                  // ideographic space too
    [InlineData("\uFF30ass", "\uFF30ass")]                       // width is kept: a password is opaque
    [InlineData("Secret", "Secret")]                             // case is kept
    public void Passwords_are_prepared_as_opaque_strings(string typed, string expected)
    {
        Assert.True(Precis.TryPreparePassword(typed, out var prepared, out var error), error);
        Assert.Equal(expected, prepared);
    }

    [Theory]
    [InlineData("")]
    [InlineData("tab\there")]
    [InlineData("nul\0")]
    public void Passwords_with_controls_or_broken_text_are_refused(string typed)
        => Assert.False(Precis.TryPreparePassword(typed, out _, out _));

    [Theory]
    [InlineData("alice", "alice")]
    [InlineData("Alice", "Alice")]                               // case preserved
    [InlineData("jo\u0308rg", "j\u00f6rg")]                      // NFC
    [InlineData("\uFF4A\uFF4F\uFF45", "joe")]                     // fullwidth to ordinary letters
    [InlineData("\u7528\u6237", "\u7528\u6237")]                  // CJK letters
    public void User_names_are_prepared_case_preserved(string typed, string expected)
    {
        Assert.True(Precis.TryPrepareUserName(typed, out var prepared, out var error), error);
        Assert.Equal(expected, prepared);
    }

    [Theory]
    [InlineData("jo\u20acrg")]      // a symbol
    [InlineData("jo\u00A0rg")]      // a space
    [InlineData("a/b")]             // UserName's own rules still hold
    public void User_names_with_symbols_or_spaces_are_refused(string typed)
        => Assert.False(Precis.TryPrepareUserName(typed, out _, out _));
}
