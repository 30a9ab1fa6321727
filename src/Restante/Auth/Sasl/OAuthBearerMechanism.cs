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

    private sealed class Exchange(SaslContext context) : ISaslExchange
    {
        private int _state;   // 0: wants the message, 1: sent the error, wants ^A, 2: done

        public string AttemptedUser { get; private set; } = "";

        public async ValueTask<SaslStep> StepAsync(ReadOnlyMemory<byte>? response, CancellationToken cancellationToken)
        {
            if (_state == 0 && response is null) return SaslStep.Continue([]);
            if (_state != 0 || response is null)
            {
                // RFC 7628 §3.2.3: after an error the client sends the dummy "^A"; whatever it sends, this fails.
                _state = 2;
                return SaslStep.Failed;
            }
            if (!SaslText.TryDecode(response.Value.Span, out var text) || !TryParse(text, out var authzid, out var token))
            {
                _state = 2;
                return SaslStep.Failed;
            }
            AttemptedUser = authzid;
            var user = await OAuthLogin.AuthenticateAsync(context, token, authzid, cancellationToken).ConfigureAwait(false);
            if (user is not null)
            {
                _state = 2;
                return SaslStep.Succeeded(user);
            }
            _state = 1;
            return SaslStep.Continue(s_error);
        }

        // "n,a=user," or "n,," or "y,," then ^A-separated key=value pairs, ending in ^A^A.
        private static bool TryParse(string text, out string authzid, out string token)
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
