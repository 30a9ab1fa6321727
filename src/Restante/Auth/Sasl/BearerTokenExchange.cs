namespace Restante.Auth.Sasl;

/// <summary>
/// The exchange OAUTHBEARER and XOAUTH2 share: one client message carrying a bearer token; a bad
/// token gets a JSON error as a challenge, and whatever the client answers to it, the exchange
/// fails (RFC 7628 §3.2.3). The two differ only in how the message is laid out.
/// </summary>
internal abstract class BearerTokenExchange(SaslContext context, byte[] errorChallenge) : ISaslExchange
{
    private int _state;   // 0: wants the message, 1: sent the error, wants the client's answer, 2: done

    public string AttemptedUser { get; private set; } = "";

    /// <summary>Splits the client message into the user it names (may be empty) and the bearer token.</summary>
    protected abstract bool TryParse(string text, out string user, out string token);

    public async ValueTask<SaslStep> StepAsync(ReadOnlyMemory<byte>? response, CancellationToken cancellationToken)
    {
        if (_state == 0 && response is null) return SaslStep.Continue([]);
        if (_state != 0 || response is null)
        {
            _state = 2;
            return SaslStep.Failed;
        }
        if (!SaslText.TryDecode(response.Value.Span, out var text) || !TryParse(text, out var user, out var token))
        {
            _state = 2;
            return SaslStep.Failed;
        }
        AttemptedUser = user;
        var (authenticated, tokenUser) = await OAuthLogin.AuthenticateAsync(context, token, user, cancellationToken).ConfigureAwait(false);
        // A validated token says who this really is: count a failure under that user, not under what the client typed.
        if (tokenUser is not null) AttemptedUser = tokenUser;
        if (authenticated is not null)
        {
            _state = 2;
            return SaslStep.Succeeded(authenticated);
        }
        _state = 1;
        return SaslStep.Continue(errorChallenge);
    }
}
