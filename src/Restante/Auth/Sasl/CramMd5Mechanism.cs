using System.Text;

namespace Restante.Auth.Sasl;

/// <summary>
/// RFC 2195 CRAM-MD5: the server sends a unique msg-id-like challenge, the client answers "user SP
/// hex(HMAC-MD5(secret, challenge))". Needs a "{PLAIN}" or "{CRAM-MD5}" secret; for any other scheme it fails like a
/// wrong password. Open to offline dictionary attacks by an eavesdropper, hence <see cref="SaslSecurity.Dictionary"/>.
/// <code>
/// S: + PDE4OTYuNjk3MTcwOTUyQHBvc3RvZmZpY2UucmVzdG9uLm1jaS5uZXQ+   ("&lt;1896.697170952@postoffice.reston.mci.net&gt;")
/// C: dGltIGI5MTNhNjAyYzdlZGE3YTQ5NWI0ZTZlNzMzNGQzODkw             ("tim b913a602c7eda7a495b4e6e7334d3890")
/// </code>
/// </summary>
public sealed class CramMd5Mechanism : ISaslMechanism
{
    /// <inheritdoc />
    public string Name => "CRAM-MD5";

    /// <inheritdoc />
    public SaslSecurity Security => SaslSecurity.Dictionary;

    /// <inheritdoc />
    public CredentialNeed Needs => CredentialNeed.LookupCredentials;

    /// <inheritdoc />
    public ISaslExchange Start(SaslContext context) => new Exchange(context);

    private sealed class Exchange(SaslContext context) : ISaslExchange
    {
        private string? _challenge;
        private bool _done;

        public string AttemptedUser { get; private set; } = "";

        public async ValueTask<SaslStep> StepAsync(ReadOnlyMemory<byte>? response, CancellationToken cancellationToken)
        {
            if (_done) return SaslStep.Failed;
            if (_challenge is null)
            {
                // The server speaks first: an initial response has nothing to answer.
                if (response is not null)
                {
                    _done = true;
                    return SaslStep.Failed;
                }
                _challenge = $"<{context.Services.NewNonce()}@{context.Services.Hostname}>";
                return SaslStep.Continue(Encoding.ASCII.GetBytes(_challenge));
            }
            _done = true;
            if (response is null || !SaslText.TryDecode(response.Value.Span, out var text)) return SaslStep.Failed;
            var space = text.LastIndexOf(' ');
            if (space <= 0) return SaslStep.Failed;
            AttemptedUser = text[..space];
            var user = await context.Services.Authenticator
                .VerifyCramMd5Async(AttemptedUser, _challenge, text[(space + 1)..], cancellationToken).ConfigureAwait(false);
            return user is null ? SaslStep.Failed : SaslStep.Succeeded(user);
        }
    }
}
