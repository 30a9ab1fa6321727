namespace Restante.Auth.Sasl;

/// <summary>
/// LOGIN (draft-murchison-sasl-login): the user name and then the password, each in answer to a prompt. Obsolete but
/// still what some clients (Outlook, old phones) send. An initial response is taken as the user name.
/// <code>
/// C: AUTH LOGIN
/// S: + VXNlcm5hbWU6           ("Username:")
/// C: dGlt
/// S: + UGFzc3dvcmQ6           ("Password:")
/// C: dGFuc3RhYWZ0YW5zdGFhZg==
/// </code>
/// </summary>
public sealed class LoginMechanism : ISaslMechanism
{
    /// <inheritdoc />
    public string Name => "LOGIN";

    /// <inheritdoc />
    public SaslSecurity Security => SaslSecurity.Plaintext;

    /// <inheritdoc />
    public CredentialNeed Needs => CredentialNeed.VerifyPlain;

    /// <inheritdoc />
    public ISaslExchange Start(SaslContext context) => new Exchange(context);

    private sealed class Exchange(SaslContext context) : ISaslExchange
    {
        private int _state;   // 0: nothing yet, 1: asked for the user, 2: asked for the password, 3: done
        private string? _user;

        public string AttemptedUser => _user ?? "";

        public async ValueTask<SaslStep> StepAsync(ReadOnlyMemory<byte>? response, CancellationToken cancellationToken)
        {
            switch (_state)
            {
                case 0 when response is null:
                    _state = 1;
                    return SaslStep.Continue("Username:"u8.ToArray());
                case 0 or 1 when response is not null:
                    if (!SaslText.TryDecode(response.Value.Span, out var user) || user.Length == 0)
                    {
                        _state = 3;
                        return SaslStep.Failed;
                    }
                    _user = user;
                    _state = 2;
                    return SaslStep.Continue("Password:"u8.ToArray());
                case 2 when response is not null:
                    _state = 3;
                    if (!SaslText.TryDecode(response.Value.Span, out var password) || password.Length == 0)
                        return SaslStep.Failed;
                    var name = await context.Services.Authenticator.VerifyPasswordAsync(_user!, password, cancellationToken).ConfigureAwait(false);
                    return name is null ? SaslStep.Failed : SaslStep.Succeeded(name);
                default:
                    _state = 3;
                    return SaslStep.Failed;
            }
        }
    }
}
