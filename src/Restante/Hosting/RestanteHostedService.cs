using Microsoft.Extensions.Hosting;

namespace Restante.Hosting;

/// <summary>Runs a <see cref="Pop3Server"/> for the lifetime of a generic host (SIGTERM and Ctrl-C stop it cleanly).</summary>
public sealed class RestanteHostedService(Pop3Server server) : IHostedService
{
    public Task StartAsync(CancellationToken cancellationToken) => server.StartAsync(cancellationToken);

    public Task StopAsync(CancellationToken cancellationToken) => server.StopAsync();
}
