using System.Text;

namespace Restante.Auth.Sasl;

/// <summary>
/// RFC 7628 OAUTHBEARER: "gs2-header ^A auth=Bearer token ^A [host=… ^A port=… ^A] ^A". A bad token is answered with
/// the §3.2.2 JSON error as a challenge; the client replies with a single ^A and then gets -ERR.
/// <code>
/// C: AUTH OAUTHBEARER bixhPWFsaWNlQGV4YW1wbGUuY29tLAFhdXRoPUJlYXJlciBleUouLi4BAQ==
/// S: + eyJzdGF0dXMiOiJpbnZhbGlkX3Rva2VuIiwic2NoZW1lcyI6ImJlYXJlciJ9      ({"status":"invalid_token","schemes":"bearer"})
/// C: AQ==
/// S: -ERR [AUTH] Authentication failed.
/// </code>
/// </summary>
public sealed class OAuthBearerMechanism : ISaslMechanism
{
    private static readonly byte[] s_error = Encoding.ASCII.GetBytes("""{"status":"invalid_token","schemes":"bearer"}""");

    /// <inheritdoc />
    public string Name => "OAUTHBEARER";

    /// <inheritdoc />
    public SaslSecurity Security => SaslSecurity.Token;

    /// <inheritdoc />
    public CredentialNeed Needs => CredentialNeed.None;

    /// <inheritdoc />
    public ISaslExchange Start(SaslContext context) => new Exchange(context);

    private sealed class Exchange(SaslContext context) : BearerTokenExchange(context, s_error)
    {
        // "n,a=user," or "n,," or "y,," then ^A-separated key=value pairs, ending in ^A^A.
        protected override bool TryParse(string text, out string authzid, out string token)
        {
            authzid = token = "";
            var parts = text.Split('\u0001');
            if (parts.Length < 3 || parts[^1].Length != 0 || parts[^2].Length != 0) return false;
            var gs2 = parts[0].Split(',');
            if (gs2.Length != 3 || gs2[0] is not ("n" or "y") || gs2[2].Length != 0) return false;   // no channel binding here
            if (gs2[1].Length > 0)
            {
                if (!gs2[1].StartsWith("a=", StringComparison.Ordinal)) return false;
                authzid = gs2[1][2..].Replace("=2C", ",", StringComparison.Ordinal).Replace("=3D", "=", StringComparison.Ordinal);
            }
            foreach (var pair in parts.AsSpan(1, parts.Length - 3))
            {
                if (pair.StartsWith("auth=", StringComparison.Ordinal)) return OAuthLogin.TryGetBearer(pair[5..], out token);
            }
            return false;
        }
    }
}
