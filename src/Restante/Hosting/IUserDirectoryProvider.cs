using Microsoft.Extensions.Logging;
using Restante.Auth;

namespace Restante.Hosting;

/// <summary>
/// Makes the user directory named by <see cref="RestanteOptions.Users"/>: the library brings
/// "passwd"; Restante.Postgres registers "postgres".
/// </summary>
public interface IUserDirectoryProvider
{
    /// <summary>The value of <c>Users</c> that selects this provider, in lower case.</summary>
    string Name { get; }

    IUserDirectory Create(RestanteOptions options, ILoggerFactory loggerFactory);
}
