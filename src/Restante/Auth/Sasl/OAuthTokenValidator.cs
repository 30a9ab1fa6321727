using Microsoft.IdentityModel.JsonWebTokens;
using Microsoft.IdentityModel.Tokens;

namespace Restante.Auth.Sasl;

/// <summary>
/// Validates JWT access tokens locally (RFC 7519, RFC 9068): signature against the configured JWKS, "iss", "aud",
/// "exp"/"nbf" against <see cref="TimeProvider"/>, and only asymmetric algorithms (a JWKS holds public keys; "none"
/// and HMAC are refused). Answers the user name from the configured claim, or null. The JWKS file is re-read when it
/// changes, so a key rotation needs no restart.
/// </summary>
public sealed class OAuthTokenValidator
{
    private static readonly string[] s_algorithms =
    [
        SecurityAlgorithms.RsaSha256, SecurityAlgorithms.RsaSha384, SecurityAlgorithms.RsaSha512,
        SecurityAlgorithms.RsaSsaPssSha256, SecurityAlgorithms.RsaSsaPssSha384, SecurityAlgorithms.RsaSsaPssSha512,
        SecurityAlgorithms.EcdsaSha256, SecurityAlgorithms.EcdsaSha384, SecurityAlgorithms.EcdsaSha512,
    ];

    private readonly OAuthOptions _options;
    private readonly TimeProvider _time;
    private readonly JsonWebTokenHandler _handler = new();
    private readonly Lock _gate = new();
    private (DateTime Stamp, long Length, IList<SecurityKey> Keys) _keys;

    /// <exception cref="InvalidOperationException">The JWKS file cannot be read or holds no usable key.</exception>
    public OAuthTokenValidator(OAuthOptions options, TimeProvider? timeProvider = null)
    {
        ArgumentNullException.ThrowIfNull(options);
        _options = options;
        _time = timeProvider ?? TimeProvider.System;
        _keys = Load();
    }

    /// <summary>The user the token was issued for, or null when the token is not acceptable (whatever the reason).</summary>
    public async ValueTask<string?> ValidateAsync(string token, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(token);
        cancellationToken.ThrowIfCancellationRequested();
        var parameters = new TokenValidationParameters
        {
            ValidIssuer = _options.Issuer,
            ValidAudience = _options.Audience,
            IssuerSigningKeys = CurrentKeys(),
            ValidAlgorithms = s_algorithms,
            RequireSignedTokens = true,
            RequireExpirationTime = true,
            ValidateIssuerSigningKey = true,
            // Our clock, so tests can move time; the library's own check would read the system clock.
            ValidateLifetime = true,
            LifetimeValidator = ValidateLifetime,
        };
        TokenValidationResult result;
        try
        {
            result = await _handler.ValidateTokenAsync(token, parameters).ConfigureAwait(false);
        }
        catch (ArgumentException)
        {
            return null;   // not even a JWT
        }
        if (!result.IsValid) return null;
        return UserFrom(result.Claims);
    }

    private string? UserFrom(IDictionary<string, object> claims)
    {
        if (_options.UserClaim.Length > 0)
            return claims.TryGetValue(_options.UserClaim, out var configured) && configured is string s && s.Length > 0 ? s : null;
        // Default: the e-mail address (Dovecot's oauth2 username_attribute default), else the subject.
        if (claims.TryGetValue("email", out var email) && email is string e && e.Length > 0) return e;
        return claims.TryGetValue("sub", out var sub) && sub is string u && u.Length > 0 ? u : null;
    }

    private bool ValidateLifetime(DateTime? notBefore, DateTime? expires, SecurityToken token, TokenValidationParameters parameters)
    {
        var now = _time.GetUtcNow().UtcDateTime;
        if (expires is null || now > expires.Value + _options.ClockSkew) return false;
        return notBefore is null || now + _options.ClockSkew >= notBefore.Value;
    }

    private IList<SecurityKey> CurrentKeys()
    {
        var info = new FileInfo(_options.JwksFile);
        lock (_gate)
        {
            if (info.Exists && (info.LastWriteTimeUtc != _keys.Stamp || info.Length != _keys.Length))
            {
                try
                {
                    _keys = Load();
                }
                catch (InvalidOperationException)
                {
                    // A half-written or broken file keeps the previous keys in force.
                }
            }
            return _keys.Keys;
        }
    }

    private (DateTime, long, IList<SecurityKey>) Load()
    {
        try
        {
            var info = new FileInfo(_options.JwksFile);
            var json = File.ReadAllText(info.FullName);
            var keys = new JsonWebKeySet(json).GetSigningKeys();
            if (keys.Count == 0) throw new InvalidOperationException($"OAuth:JwksFile {_options.JwksFile} has no usable signing key.");
            return (info.LastWriteTimeUtc, info.Length, keys);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException or ArgumentException or System.Text.Json.JsonException)
        {
            throw new InvalidOperationException($"OAuth:JwksFile {_options.JwksFile}: {ex.Message}", ex);
        }
    }
}
