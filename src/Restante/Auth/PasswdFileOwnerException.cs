namespace Restante.Auth;

/// <summary>
/// An edit of the passwd file was refused because the new file could not keep the old one's owner, group and mode
/// (typically: not root, and the file belongs to the server's account). Nothing was changed.
/// </summary>
public sealed class PasswdFileOwnerException : Exception
{
    public PasswdFileOwnerException()
        : base("The passwd file's owner cannot be kept.")
    {
    }

    public PasswdFileOwnerException(string message)
        : base(message)
    {
    }

    public PasswdFileOwnerException(string message, Exception innerException)
        : base(message, innerException)
    {
    }
}
