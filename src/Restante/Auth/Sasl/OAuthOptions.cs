namespace Restante.Auth.Sasl;

/// <summary>
/// Local validation of JWT access tokens for OAUTHBEARER and XOAUTH2 (configuration section <c>OAuth</c>). Nothing
/// is fetched over the network: the signing keys come from a JWKS file (re-read when it changes).
/// </summary>
public sealed class OAuthOptions : ISettingsSection
{
    /// <summary>The required "iss" claim, exactly.</summary>
    public string Issuer { get; set; } = string.Empty;

    /// <summary>The required "aud" claim (one of the token's audiences).</summary>
    public string Audience { get; set; } = string.Empty;

    /// <summary>A JSON Web Key Set (RFC 7517 §5) with the issuer's public keys (RSA or EC).</summary>
    public string JwksFile { get; set; } = string.Empty;

    /// <summary>
    /// The claim that holds the user name. Empty: "email", or "sub" when the token has no "email". The user must also
    /// exist in the passwd file (any scheme; tokens need no password).
    /// </summary>
    public string UserClaim { get; set; } = string.Empty;

    /// <summary>Tolerance for clock differences on "exp" and "nbf".</summary>
    public TimeSpan ClockSkew { get; set; } = TimeSpan.FromMinutes(1);

    /// <summary>True when any key is set: token mechanisms are offered only then.</summary>
    public bool IsConfigured => Issuer.Length > 0 || Audience.Length > 0 || JwksFile.Length > 0;

    /// <summary>The validation errors, one a line, naming the key; empty when all is well.</summary>
    public IEnumerable<string> Validate()
    {
        if (!IsConfigured) yield break;
        if (string.IsNullOrWhiteSpace(Issuer)) yield return "OAuth:Issuer must be set when OAuth is configured.";
        if (string.IsNullOrWhiteSpace(Audience)) yield return "OAuth:Audience must be set when OAuth is configured.";
        if (string.IsNullOrWhiteSpace(JwksFile)) yield return "OAuth:JwksFile must be set when OAuth is configured.";
        else if (!File.Exists(JwksFile)) yield return $"OAuth:JwksFile {JwksFile} does not exist.";
        if (ClockSkew < TimeSpan.Zero) yield return "OAuth:ClockSkew must not be negative.";
    }
}
