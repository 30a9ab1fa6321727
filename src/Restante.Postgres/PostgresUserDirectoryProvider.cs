using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Restante.Auth;
using Restante.Hosting;

namespace Restante.Postgres;

/// <summary>"Users": "postgres": the mail_user table in the database of Postgres:ConnectionString.</summary>
internal sealed class PostgresUserDirectoryProvider(IOptions<PostgresStoreOptions> options) : IUserDirectoryProvider
{
    public string Name => "postgres";

    public IUserDirectory Create(RestanteOptions restanteOptions, ILoggerFactory loggerFactory)
    {
        if (string.IsNullOrWhiteSpace(options.Value.ConnectionString))
            throw new InvalidOperationException("Postgres:ConnectionString must be set for Users postgres (or use --postgres).");
        return new PostgresUserDirectory(options.Value.ConnectionString, loggerFactory);
    }
}
