namespace Restante.Auth.Sasl;

/// <summary>
/// What a mechanism may know about the connection it runs on, plus the server's services. The session fills the three
/// connection facts (<see cref="IsSecure"/>, <see cref="PlaintextAllowed"/>, <see cref="TlsServerEndPoint"/>); they are
/// the only thing the TLS layer has to provide.
/// </summary>
public sealed class SaslContext
{
    public SaslContext(bool isSecure, bool plaintextAllowed, byte[]? tlsServerEndPoint, SaslServices services)
    {
        ArgumentNullException.ThrowIfNull(services);
        IsSecure = isSecure;
        PlaintextAllowed = plaintextAllowed;
        TlsServerEndPoint = tlsServerEndPoint;
        Services = services;
    }

    /// <summary>The connection is encrypted (TLS).</summary>
    public bool IsSecure { get; }

    /// <summary>The plaintext policy allows PLAIN and LOGIN (and USER/PASS) on this connection.</summary>
    public bool PlaintextAllowed { get; }

    /// <summary>
    /// RFC 5929 §4 tls-server-end-point channel binding data: the hash of this connection's server certificate (see
    /// <see cref="ChannelBindings.TlsServerEndPoint"/>); null without TLS, which hides the -PLUS mechanisms.
    /// </summary>
    public byte[]? TlsServerEndPoint { get; }

    /// <summary>The user store, token validation, configuration and randomness.</summary>
    public SaslServices Services { get; }

    /// <summary>True when <paramref name="mechanism"/> may be offered and used on this connection.</summary>
    public bool Allows(ISaslMechanism mechanism)
    {
        ArgumentNullException.ThrowIfNull(mechanism);
        var security = mechanism.Security;
        if (security.HasFlag(SaslSecurity.Plaintext) && !PlaintextAllowed) return false;
        if (security.HasFlag(SaslSecurity.ChannelBinding) && TlsServerEndPoint is null) return false;
        if (security.HasFlag(SaslSecurity.Token) && Services.TokenValidator is null) return false;
        return true;
    }
}
