namespace Restante.Auth.Sasl;

/// <summary>
/// RFC 4616 PLAIN: one message "authzid NUL authcid NUL passwd". An authorization identity is accepted only when it is
/// empty or the same as the authentication identity (nobody may act as somebody else here).
/// <code>
/// C: AUTH PLAIN AHRpbQB0YW5zdGFhZnRhbnN0YWFm      ("\0tim\0tanstaaftanstaaf", RFC 4616 §4)
/// S: +OK Logged in, …
/// </code>
/// </summary>
public sealed class PlainMechanism : ISaslMechanism
{
    /// <inheritdoc />
    public string Name => "PLAIN";

    /// <inheritdoc />
    public SaslSecurity Security => SaslSecurity.Plaintext;

    /// <inheritdoc />
    public CredentialNeed Needs => CredentialNeed.VerifyPlain;

    /// <inheritdoc />
    public ISaslExchange Start(SaslContext context) => new Exchange(context);

    private sealed class Exchange(SaslContext context) : ISaslExchange
    {
        private bool _asked;
        private bool _done;

        public string AttemptedUser { get; private set; } = "";

        public async ValueTask<SaslStep> StepAsync(ReadOnlyMemory<byte>? response, CancellationToken cancellationToken)
        {
            if (_done) return SaslStep.Failed;
            if (response is null)
            {
                if (_asked) return SaslStep.Failed;
                _asked = true;
                return SaslStep.Continue([]);    // RFC 4616 §2: the client speaks first; an empty challenge asks for it
            }
            _done = true;
            if (!TryParse(response.Value.Span, out var authzid, out var authcid, out var password))
                return SaslStep.Failed;
            AttemptedUser = authcid;
            if (authzid.Length > 0 && !string.Equals(authzid, authcid, StringComparison.Ordinal))
                return SaslStep.Failed;
            var user = await context.Services.Authenticator.VerifyPasswordAsync(authcid, password, cancellationToken).ConfigureAwait(false);
            return user is null ? SaslStep.Failed : SaslStep.Succeeded(user);
        }

        internal static bool TryParse(ReadOnlySpan<byte> message, out string authzid, out string authcid, out string password)
        {
            authzid = authcid = password = "";
            var first = message.IndexOf((byte)0);
            if (first < 0) return false;
            var rest = message[(first + 1)..];
            var second = rest.IndexOf((byte)0);
            if (second < 0) return false;
            var pass = rest[(second + 1)..];
            // RFC 4616 §2: exactly two NULs; authcid and passwd are not empty.
            if (pass.Contains((byte)0) || second == 0 || pass.IsEmpty) return false;
            return SaslText.TryDecode(message[..first], out authzid)
                && SaslText.TryDecode(rest[..second], out authcid)
                && SaslText.TryDecode(pass, out password);
        }
    }
}
