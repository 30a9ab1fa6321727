using System.Security.Cryptography;

namespace Restante.Auth.Sasl;

/// <summary>What every SASL exchange of one server shares: the user store, token validation, the enabled mechanisms.</summary>
public sealed class SaslServices
{
    /// <param name="authenticator">Checks passwords and looks up stored secrets without revealing which users exist.</param>
    /// <param name="options">The enabled mechanisms.</param>
    /// <param name="hostname">The host name in CRAM-MD5 challenges.</param>
    /// <param name="tokenValidator">Validates OAuth access tokens; null hides OAUTHBEARER and XOAUTH2.</param>
    /// <param name="newNonce">For tests: the server's random part of CRAM-MD5 challenges and SCRAM nonces.</param>
    public SaslServices(Authenticator authenticator, SaslOptions options, string hostname,
        OAuthTokenValidator? tokenValidator = null, Func<string>? newNonce = null)
    {
        ArgumentNullException.ThrowIfNull(authenticator);
        ArgumentNullException.ThrowIfNull(options);
        Authenticator = authenticator;
        Hostname = hostname;
        TokenValidator = tokenValidator;
        NewNonce = newNonce ?? RandomNonce;
        Enabled = [.. options.EffectiveMechanisms.Select(SaslMechanisms.Find).OfType<ISaslMechanism>()];
    }

    public Authenticator Authenticator { get; }

    public string Hostname { get; }

    public OAuthTokenValidator? TokenValidator { get; }

    /// <summary>A fresh printable nonce without commas (RFC 5802 §5.1 "r=").</summary>
    public Func<string> NewNonce { get; }

    /// <summary>The enabled mechanisms in configured order.</summary>
    public IReadOnlyList<ISaslMechanism> Enabled { get; }

    /// <summary>The enabled mechanism called <paramref name="name"/> (case-insensitive), or null.</summary>
    public ISaslMechanism? FindEnabled(string name)
        => Enabled.FirstOrDefault(m => string.Equals(m.Name, name, StringComparison.OrdinalIgnoreCase));

    /// <summary>The mechanisms to list in CAPA and AUTH on a connection.</summary>
    public IEnumerable<ISaslMechanism> Offered(SaslContext context) => Enabled.Where(context.Allows);

    private static string RandomNonce() => Convert.ToBase64String(RandomNumberGenerator.GetBytes(18));
}
