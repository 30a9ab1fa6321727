using Microsoft.Extensions.Logging;
using Restante.Storage;

namespace Restante.Hosting;

/// <summary>
/// Makes the store named by <see cref="RestanteOptions.Store"/>. The library brings "maildir" and
/// "memory"; another assembly (Restante.Postgres) registers its own provider with the host's
/// services, so the library never references a database driver.
/// </summary>
public interface IMailStoreProvider
{
    /// <summary>The value of <c>Store</c> that selects this provider, in lower case ("maildir").</summary>
    string Name { get; }

    /// <summary>The server's one store. A store that is <see cref="IAsyncDisposable"/> is disposed with the server.</summary>
    IMailBackend Create(RestanteOptions options, ILoggerFactory loggerFactory);
}
