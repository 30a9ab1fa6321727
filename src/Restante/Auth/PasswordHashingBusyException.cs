namespace Restante.Auth;

/// <summary>
/// Every hashing worker is busy and the queue is full. Not a failed login: no password was looked at, nothing is
/// counted, and the client is told to come back (<c>-ERR [SYS/TEMP]</c>, RFC 3206 §4) at once rather than after the
/// failed-login delay, since waiting would only keep its connection open longer.
/// </summary>
public sealed class PasswordHashingBusyException : Exception
{
    public PasswordHashingBusyException()
        : base("Password hashing is saturated; the login was not attempted.")
    {
    }

    public PasswordHashingBusyException(string message)
        : base(message)
    {
    }

    public PasswordHashingBusyException(string message, Exception innerException)
        : base(message, innerException)
    {
    }
}
