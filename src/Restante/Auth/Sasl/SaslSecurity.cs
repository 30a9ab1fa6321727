namespace Restante.Auth.Sasl;

/// <summary>What a mechanism exposes or protects (after Dovecot's <c>MECH_SEC_*</c> flags in <c>sasl-server.h</c>).</summary>
[Flags]
public enum SaslSecurity
{
    None = 0,

    /// <summary>The password crosses the wire in the clear (PLAIN, LOGIN): subject to the plaintext policy.</summary>
    Plaintext = 1,

    /// <summary>An eavesdropper can run an offline dictionary attack on what it saw (CRAM-MD5).</summary>
    Dictionary = 2,

    /// <summary>The server proves it knows the user's secret too (SCRAM).</summary>
    MutualAuth = 4,

    /// <summary>Needs the connection's TLS channel binding (the -PLUS mechanisms): offered only when there is one.</summary>
    ChannelBinding = 8,

    /// <summary>Carries a bearer token rather than a password (OAUTHBEARER, XOAUTH2): offered only when OAuth is configured.</summary>
    Token = 16,
}
