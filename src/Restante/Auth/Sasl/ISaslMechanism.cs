namespace Restante.Auth.Sasl;

/// <summary>
/// One SASL mechanism (RFC 4422), described before it is offered: the session decides from <see cref="Security"/>
/// and the connection's <see cref="SaslContext"/> whether CAPA lists it and whether AUTH may use it.
/// </summary>
public interface ISaslMechanism
{
    /// <summary>The registered name, upper case: "PLAIN", "SCRAM-SHA-256".</summary>
    string Name { get; }

    /// <summary>What using it exposes or requires.</summary>
    SaslSecurity Security { get; }

    /// <summary>What it needs from the stored secret.</summary>
    CredentialNeed Needs { get; }

    /// <summary>Begins one exchange. Nothing is read or written here; the exchange is driven by the AUTH command.</summary>
    ISaslExchange Start(SaslContext context);
}
