using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Restante.Auth;
using Restante.Lmtp;
using Restante.Networking;
using Restante.Pop3;

namespace Restante.Hosting;

public static class RestanteServiceCollectionExtensions
{
    /// <summary>
    /// Adds a Restante server configured from <paramref name="configuration"/> (its root holds the
    /// keys of <see cref="RestanteOptions"/> and <see cref="Pop3Options"/>) and runs it with the host.
    /// </summary>
    public static IServiceCollection AddRestante(this IServiceCollection services, IConfiguration configuration)
    {
        services.Configure<RestanteOptions>(configuration);
        services.Configure<Pop3Options>(configuration);
        services.Configure<ConnectionLimitOptions>(configuration);
        services.Configure<LoginThrottleOptions>(configuration.GetSection("LoginThrottle"));
        services.AddSingleton(sp => new Pop3Server(
            sp.GetRequiredService<IOptions<RestanteOptions>>().Value,
            sp.GetRequiredService<IOptions<Pop3Options>>().Value,
            sp.GetRequiredService<ILoggerFactory>(),
            limits: sp.GetRequiredService<IOptions<ConnectionLimitOptions>>().Value,
            throttleOptions: sp.GetRequiredService<IOptions<LoginThrottleOptions>>().Value,
            lmtpConnections: configuration.GetSection("LmtpConnections").Get<ListenerConnectionLimits>(),
            smtpConnections: configuration.GetSection("SmtpConnections").Get<ListenerConnectionLimits>(),
            lmtpLimits: configuration.GetSection("LmtpLimits").Get<LmtpLimits>()));
        services.AddHostedService<RestanteHostedService>();
        return services;
    }
}
