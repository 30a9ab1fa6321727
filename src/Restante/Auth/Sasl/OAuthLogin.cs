namespace Restante.Auth.Sasl;

/// <summary>What OAUTHBEARER and XOAUTH2 share once the message is parsed.</summary>
internal static class OAuthLogin
{
    /// <summary>"Bearer token" (the scheme is case-insensitive, RFC 6750 §2.1).</summary>
    public static bool TryGetBearer(string value, out string token)
    {
        token = "";
        if (!value.StartsWith("Bearer ", StringComparison.OrdinalIgnoreCase)) return false;
        token = value[7..].Trim();
        return token.Length > 0;
    }

    /// <summary>
    /// The local user for a token (<c>User</c>): the token is valid, names a user (the configured claim), the user the
    /// client claimed (if any) is that same user, and the user exists in the directory; otherwise null.
    /// <c>TokenUser</c> is the user a valid token names, whether or not the login succeeds (null for an invalid
    /// token): a failure is counted under it rather than under a name the client made up or left out.
    /// </summary>
    public static async ValueTask<(string? User, string? TokenUser)> AuthenticateAsync(SaslContext context, string token, string claimedUser, CancellationToken cancellationToken)
    {
        var validator = context.Services.TokenValidator;
        if (validator is null) return (null, null);
        var user = await validator.ValidateAsync(token, cancellationToken).ConfigureAwait(false);
        if (user is null) return (null, null);
        if (claimedUser.Length > 0 && !string.Equals(claimedUser, user, StringComparison.Ordinal)) return (null, user);
        return (await context.Services.Authenticator.FindUserAsync(user, cancellationToken).ConfigureAwait(false), user);
    }
}
