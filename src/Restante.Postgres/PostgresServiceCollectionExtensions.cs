using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Restante.Hosting;

namespace Restante.Postgres;

public static class PostgresServiceCollectionExtensions
{
    /// <summary>
    /// Makes "Store": "postgres" and "Users": "postgres" available, configured from the "Postgres" section of
    /// <paramref name="configuration"/> (<see cref="PostgresStoreOptions"/>).
    /// </summary>
    public static IServiceCollection AddRestantePostgres(this IServiceCollection services, IConfiguration configuration)
    {
        ArgumentNullException.ThrowIfNull(configuration);
        services.Configure<PostgresStoreOptions>(configuration.GetSection("Postgres"));
        services.AddSingleton<IMailStoreProvider, PostgresStoreProvider>();
        services.AddSingleton<IUserDirectoryProvider, PostgresUserDirectoryProvider>();
        return services;
    }
}
