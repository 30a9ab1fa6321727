namespace Restante.Auth;

/// <summary>Looks users up. Implementations: the passwd file; later a database.</summary>
public interface IUserDirectory
{
    /// <summary>Returns null when there is no such user. Names are matched exactly (case-sensitive), like Dovecot's passwd-file.</summary>
    ValueTask<UserRecord?> FindAsync(string name, CancellationToken cancellationToken);

    /// <summary>
    /// True when at least one user's stored secret can serve APOP (a plaintext-equivalent scheme such as PLAIN), so
    /// offering APOP in the greeting can succeed for someone. A directory that cannot tell cheaply says no; the
    /// operator then turns APOP on explicitly (<c>Pop3:Apop</c>).
    /// </summary>
    bool HasApopSecrets => false;
}
