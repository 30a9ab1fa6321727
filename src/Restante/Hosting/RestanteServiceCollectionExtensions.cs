using System.Diagnostics.Metrics;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using Restante.Auth;
using Restante.Diagnostics;
using Restante.Lmtp;
using Restante.Networking;
using Restante.Pop3;
using Restante.Storage;

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
        services.AddRestanteStore(configuration);
        services.AddSingleton(sp => new Pop3Server(
            sp.GetRequiredService<IOptions<RestanteOptions>>().Value,
            sp.GetRequiredService<IOptions<Pop3Options>>().Value,
            sp.GetRequiredService<ILoggerFactory>(),
            store: sp.GetRequiredService<IMailBackend>(),
            users: sp.GetRequiredService<IUserDirectory>(),
            limits: sp.GetRequiredService<IOptions<ConnectionLimitOptions>>().Value,
            throttleOptions: sp.GetRequiredService<IOptions<LoginThrottleOptions>>().Value,
            lmtpConnections: configuration.GetSection("LmtpConnections").Get<ListenerConnectionLimits>(),
            smtpConnections: configuration.GetSection("SmtpConnections").Get<ListenerConnectionLimits>(),
            lmtpLimits: configuration.GetSection("LmtpLimits").Get<LmtpLimits>(),
            metrics: sp.GetRequiredService<RestanteMetrics>()));
        // Through the host's meter factory when it has one (OpenTelemetry's hosting adds it); disposed with the container.
        services.TryAddSingleton(sp => new RestanteMetrics(sp.GetService<IMeterFactory>()));
        // The control socket first: a second server on the same data directory stops there, before binding a port.
        services.Configure<Admin.AdminOptions>(configuration.GetSection("Admin"));
        services.AddHostedService<Admin.AdminService>();
        services.AddHostedService<RestanteHostedService>();
        return services;
    }

    /// <summary>
    /// Adds the one <see cref="IMailBackend"/> that <see cref="RestanteOptions.Store"/> names, and the
    /// <see cref="IUserDirectory"/> that <see cref="RestanteOptions.Users"/> names, each made by
    /// the matching provider: the library's own (maildir, memory; passwd) and any other
    /// registered before the store is first resolved (Restante.Postgres's AddRestantePostgres).
    /// For hosts that only deliver or manage mail (`restante deliver`, migrations).
    /// </summary>
    public static IServiceCollection AddRestanteStore(this IServiceCollection services, IConfiguration configuration)
    {
        // Once only: AddRestante calls this too, and binding the options twice would bind their lists twice.
        if (services.Any(d => d.ServiceType == typeof(IMailBackend))) return services;
        if (!services.Any(d => d.ServiceType == typeof(IConfigureOptions<RestanteOptions>)))
            services.Configure<RestanteOptions>(configuration);
        foreach (var provider in MailStoreProviders.BuiltIn) services.AddSingleton(provider);
        services.TryAddSingleton(sp => MailStoreProviders.Create(
            sp.GetServices<IMailStoreProvider>(),
            sp.GetRequiredService<IOptions<RestanteOptions>>().Value,
            sp.GetService<ILoggerFactory>() ?? NullLoggerFactory.Instance));
        services.AddSingleton(UserDirectoryProviders.Passwd);
        services.TryAddSingleton(sp => UserDirectoryProviders.Create(
            sp.GetServices<IUserDirectoryProvider>(),
            sp.GetRequiredService<IOptions<RestanteOptions>>().Value,
            sp.GetService<ILoggerFactory>() ?? NullLoggerFactory.Instance));
        return services;
    }
}
