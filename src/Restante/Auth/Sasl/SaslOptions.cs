namespace Restante.Auth.Sasl;

/// <summary>Which SASL mechanisms the server enables (configuration section <c>Sasl</c>).</summary>
public sealed class SaslOptions : ISettingsSection
{
    /// <summary>
    /// The default set. CRAM-MD5 and SCRAM are implemented but opt-in: they need a "{PLAIN}", "{CRAM-MD5}" or
    /// "{SCRAM-…}" secret, new users get "{BLF-CRYPT}", and clients rank them above PLAIN — curl picks CRAM-MD5
    /// whenever it is listed and does not fall back when it fails, MailKit tries each one in turn and pays the
    /// failed-login delay every time. Offer them when your passwd file holds secrets that can serve them.
    /// OAUTHBEARER and XOAUTH2 are only offered once <c>OAuth</c> is configured.
    /// </summary>
    public static IReadOnlyList<string> DefaultMechanisms { get; } = ["PLAIN", "LOGIN", "OAUTHBEARER", "XOAUTH2"];

    /// <summary>
    /// The mechanisms to enable, in the order CAPA lists them (Dovecot's <c>auth_mechanisms</c>). Empty: <see cref="DefaultMechanisms"/>.
    /// Known: PLAIN, LOGIN, CRAM-MD5, SCRAM-SHA-1, SCRAM-SHA-1-PLUS, SCRAM-SHA-256, SCRAM-SHA-256-PLUS, OAUTHBEARER, XOAUTH2.
    /// </summary>
    public List<string> Mechanisms { get; set; } = [];

    /// <summary>The enabled names, upper case, defaults applied.</summary>
    public IReadOnlyList<string> EffectiveMechanisms
        => Mechanisms.Count == 0 ? DefaultMechanisms : [.. Mechanisms.Select(m => m.Trim().ToUpperInvariant()).Distinct()];

    /// <summary>The validation errors, one a line, naming the key; empty when all is well.</summary>
    public IEnumerable<string> Validate()
    {
        foreach (var name in EffectiveMechanisms)
        {
            if (SaslMechanisms.Find(name) is null)
                yield return $"Sasl:Mechanisms: unknown mechanism {name}; known: {string.Join(", ", SaslMechanisms.All.Select(m => m.Name))}.";
        }
    }
}
