namespace Restante.Auth.Sasl;

/// <summary>Every mechanism Restante implements, by name.</summary>
public static class SaslMechanisms
{
    /// <summary>All of them, strongest first within each family.</summary>
    public static IReadOnlyList<ISaslMechanism> All { get; } =
    [
        new PlainMechanism(),
        new LoginMechanism(),
        new CramMd5Mechanism(),
        new ScramMechanism(ScramHash.Sha256, plus: true),
        new ScramMechanism(ScramHash.Sha256, plus: false),
        new ScramMechanism(ScramHash.Sha1, plus: true),
        new ScramMechanism(ScramHash.Sha1, plus: false),
        new OAuthBearerMechanism(),
        new XOAuth2Mechanism(),
    ];

    /// <summary>The mechanism called <paramref name="name"/> (case-insensitive), or null.</summary>
    public static ISaslMechanism? Find(string name)
        => All.FirstOrDefault(m => string.Equals(m.Name, name, StringComparison.OrdinalIgnoreCase));
}
