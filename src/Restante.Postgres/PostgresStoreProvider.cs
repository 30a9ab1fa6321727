using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Restante.Hosting;
using Restante.Storage;

namespace Restante.Postgres;

/// <summary>"Store": "postgres".</summary>
internal sealed class PostgresStoreProvider(IOptions<PostgresStoreOptions> options) : IMailStoreProvider
{
    public string Name => "postgres";

    public IMailBackend Create(RestanteOptions restanteOptions, ILoggerFactory loggerFactory)
    {
        var problems = options.Value.Validate().ToList();
        if (problems.Count > 0) throw new InvalidOperationException(string.Join(" ", problems));
        var store = new PostgresMailStore(options.Value, loggerFactory, null, restanteOptions.Retention.Days);
        try
        {
            PostgresSchemaCheck.RequireCurrent(store.DataSource, loggerFactory.CreateLogger<PostgresMailStore>());
        }
        catch
        {
            store.DisposeAsync().AsTask().GetAwaiter().GetResult();
            throw;
        }
        return store;
    }
}
