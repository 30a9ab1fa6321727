using System.Text;

namespace Restante.Auth.Sasl;

/// <summary>
/// XOAUTH2, Google's pre-RFC 7628 format: "user=name ^A auth=Bearer token ^A ^A". A bad token gets a JSON error as a
/// challenge, the client answers with an empty line and then gets -ERR (Google's documented flow).
/// </summary>
public sealed class XOAuth2Mechanism : ISaslMechanism
{
    private static readonly byte[] s_error = Encoding.ASCII.GetBytes("""{"status":"401","schemes":"bearer"}""");

    /// <inheritdoc />
    public string Name => "XOAUTH2";

    /// <inheritdoc />
    public SaslSecurity Security => SaslSecurity.Token;

    /// <inheritdoc />
    public CredentialNeed Needs => CredentialNeed.None;

    /// <inheritdoc />
    public ISaslExchange Start(SaslContext context) => new Exchange(context);

    private sealed class Exchange(SaslContext context) : BearerTokenExchange(context, s_error)
    {
        protected override bool TryParse(string text, out string user, out string token)
        {
            user = token = "";
            var parts = text.Split('\u0001');
            if (parts.Length < 3 || parts[^1].Length != 0 || parts[^2].Length != 0) return false;
            foreach (var pair in parts.AsSpan(0, parts.Length - 2))
            {
                if (pair.StartsWith("user=", StringComparison.Ordinal)) user = pair[5..];
                else if (pair.StartsWith("auth=", StringComparison.Ordinal) && !OAuthLogin.TryGetBearer(pair[5..], out token)) return false;
            }
            return user.Length > 0 && token.Length > 0;   // XOAUTH2 always names the user
        }
    }
}
