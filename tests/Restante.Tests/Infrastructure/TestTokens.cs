using System.Security.Cryptography;
using System.Text.Json;
using Microsoft.IdentityModel.JsonWebTokens;
using Microsoft.IdentityModel.Tokens;

namespace Restante.Tests.Infrastructure;

/// <summary>An OAuth issuer for tests: a fresh RSA key, its JWKS file, and signed access tokens.</summary>
internal sealed class TestTokens : IDisposable
{
    public const string Issuer = "https://issuer.test.example";
    public const string Audience = "restante-pop3";

    private readonly RSA _rsa = RSA.Create(2048);
    private readonly RsaSecurityKey _key;

    public TestTokens(string directory)
    {
        _key = new RsaSecurityKey(_rsa) { KeyId = "test-key-1" };
        var parameters = _rsa.ExportParameters(includePrivateParameters: false);
        var jwks = new
        {
            keys = new[]
            {
                new { kty = "RSA", use = "sig", alg = "RS256", kid = _key.KeyId, n = Base64UrlEncoder.Encode(parameters.Modulus), e = Base64UrlEncoder.Encode(parameters.Exponent) },
            },
        };
        JwksFile = Path.Combine(directory, "jwks.json");
        File.WriteAllText(JwksFile, JsonSerializer.Serialize(jwks));
    }

    public string JwksFile { get; }

    public string Create(string? email = null, string? subject = null, string issuer = Issuer, string audience = Audience,
        TimeSpan? lifetime = null, RsaSecurityKey? signingKey = null)
    {
        var claims = new Dictionary<string, object>();
        if (email is not null) claims["email"] = email;
        if (subject is not null) claims["sub"] = subject;
        var now = DateTime.UtcNow;
        var expires = now + (lifetime ?? TimeSpan.FromMinutes(10));
        return new JsonWebTokenHandler().CreateToken(new SecurityTokenDescriptor
        {
            Issuer = issuer,
            Audience = audience,
            Claims = claims,
            IssuedAt = expires < now ? expires.AddMinutes(-10) : now,
            NotBefore = expires < now ? expires.AddMinutes(-10) : now,
            Expires = expires,
            SigningCredentials = new SigningCredentials(signingKey ?? _key, SecurityAlgorithms.RsaSha256),
        });
    }

    public void Dispose() => _rsa.Dispose();
}
