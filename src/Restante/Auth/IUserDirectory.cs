namespace Restante.Auth;

/// <summary>Looks users up. Implementations: the passwd file; later a database.</summary>
public interface IUserDirectory
{
    /// <summary>Returns null when there is no such user. Names are matched exactly (case-sensitive), like Dovecot's passwd-file.</summary>
    ValueTask<UserRecord?> FindAsync(string name, CancellationToken cancellationToken);
}
