using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Restante.Hosting;
using Restante.Postgres;

namespace Restante.Cli;

/// <summary>Every store this program can run on, registered once for every command that touches mail.</summary>
internal static class CliStores
{
    public static IServiceCollection AddAllStores(this IServiceCollection services, IConfiguration configuration)
    {
        services.AddRestanteStore(configuration);
        services.AddRestantePostgres(configuration);
        return services;
    }
}
