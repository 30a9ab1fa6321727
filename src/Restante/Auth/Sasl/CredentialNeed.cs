namespace Restante.Auth.Sasl;

/// <summary>What a mechanism needs from the user store (Dovecot's <c>passdb_verify_plain</c> vs <c>lookup_credentials</c>).</summary>
public enum CredentialNeed
{
    /// <summary>The client sends the password; any stored scheme can check it (PLAIN, LOGIN).</summary>
    VerifyPlain,

    /// <summary>The server needs a secret of a particular form: PLAIN or CRAM-MD5 for CRAM-MD5, PLAIN or matching SCRAM keys for SCRAM.</summary>
    LookupCredentials,

    /// <summary>No password at all: a signed token names the user, who only has to exist (OAUTHBEARER, XOAUTH2).</summary>
    None,
}
