namespace Restante.Auth;

/// <summary>
/// The user directory cannot answer now (its database is unreachable): nobody knows whether the
/// credentials are right. POP3 answers the login <c>-ERR [SYS/TEMP]</c> (RFC 3206 §4) and keeps the
/// connection, counting no failed login; LMTP, which treats any <see cref="IOException"/> of a lookup
/// as temporary, answers 4xx so the MTA retries.
/// </summary>
public sealed class UserDirectoryUnavailableException : IOException
{
    public UserDirectoryUnavailableException()
        : base("The user directory cannot be reached.")
    {
    }

    public UserDirectoryUnavailableException(string message)
        : base(message)
    {
    }

    public UserDirectoryUnavailableException(string message, Exception innerException)
        : base(message, innerException)
    {
    }
}
