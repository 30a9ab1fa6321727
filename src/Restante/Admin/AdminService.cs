using System.Net.Sockets;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Restante.Auth;
using Restante.Hosting;
using Restante.Networking;

namespace Restante.Admin;

/// <summary>
/// The control socket of a running server (<see cref="AdminOptions"/>): `restante sessions`, `kick`, `uidl` and
/// `throttle` talk to it. Started before the listeners, so a server that finds another one running on its data
/// directory refuses to start before it binds anything, and stopped after them.
/// </summary>
public sealed class AdminService(Pop3Server server, IOptions<AdminOptions> options, ILoggerFactory loggerFactory, TimeProvider? time = null) : IHostedService
{
    private readonly ILogger _logger = loggerFactory.CreateLogger("Restante.Admin");
    private ControlSocketFile? _file;
    private ConnectionListener? _listener;

    /// <summary>The socket's absolute path while it listens; null otherwise.</summary>
    public string? SocketPath => _file?.Path;

    public Task StartAsync(CancellationToken cancellationToken)
    {
        var settings = options.Value;
        if (!settings.IsEnabled) return Task.CompletedTask;
        var problems = settings.Validate().ToList();
        if (problems.Count > 0) throw new InvalidOperationException(string.Join(" ", problems));
        if (!OperatingSystem.IsLinux())
        {
            // The peer check needs SO_PEERCRED; without it the socket's mode would be the only guard.
            AdminLog.Unavailable(_logger, "the control socket needs Linux (SO_PEERCRED)");
            return Task.CompletedTask;
        }
        var file = ControlSocketFile.Create(settings.Socket!, backlog: 16, _logger);
        var commands = new AdminCommands(server.Sessions, server.LoginThrottle, server.Store, _logger);
        var serverUid = FileOwner.EffectiveUid;
        var clock = time ?? TimeProvider.System;
        _file = file;
        _listener = ConnectionListener.Adopt(file.Listening, new UnixDomainSocketEndPoint(file.Path), _logger);
        // Addresses mean nothing here (null: only the total counts); the refusal is a reply the client can show.
        var gate = new ConnectionGate(settings.MaxConnections, settings.MaxConnections, TrustedNetworks.None);
        var refusal = System.Text.Encoding.UTF8.GetBytes("{\"ok\":false,\"error\":\"Too many control socket connections; try again.\"}\n");
        _listener.Start((socket, stopping) => new AdminConnection(socket, commands, settings, serverUid, clock, _logger).RunAsync(stopping), gate, refusal);
        AdminLog.Listening(_logger, file.Path);
        return Task.CompletedTask;
    }

    public async Task StopAsync(CancellationToken cancellationToken)
    {
        if (_listener is { } listener) await listener.DisposeAsync().ConfigureAwait(false);
        _file?.Dispose();
        _listener = null;
        _file = null;
    }
}
