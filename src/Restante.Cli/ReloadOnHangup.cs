using System.Runtime.InteropServices;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Logging;
using Restante.Hosting;

namespace Restante.Cli;

/// <summary>
/// SIGHUP reloads the configuration, as daemons traditionally do (`systemctl reload`, `kill -HUP`): every
/// layer is read again, checked whole, and only then applied. A configuration that does not parse or
/// does not validate changes nothing: the running one stays and an error is logged.
/// </summary>
internal static partial class ReloadOnHangup
{
    /// <param name="live">The host's configuration: reloaded once the new one is known good, so log levels follow it.</param>
    public static IDisposable? Register(ServeConfiguration layers, IConfigurationRoot live, Pop3Server server, ILogger logger)
    {
        if (OperatingSystem.IsWindows()) return null;
        var gate = new SemaphoreSlim(1, 1);
        return PosixSignalRegistration.Create(PosixSignal.SIGHUP, context =>
        {
            // Without this the runtime applies SIGHUP's default action: the process would end.
            context.Cancel = true;
            _ = Task.Run(async () =>
            {
                await gate.WaitAsync().ConfigureAwait(false);
                try
                {
                    Reload(layers, live, server, logger);
                }
                catch (Exception ex) when (ex is not OutOfMemoryException)
                {
                    // Nothing awaits this task: a reload that failed in a way not foreseen must still say so.
                    ReloadUnreadable(logger, "reload failed: " + ServeConfiguration.Describe(ex));
                }
                finally
                {
                    gate.Release();
                }
            });
        });
    }

    internal static void Reload(ServeConfiguration layers, IConfigurationRoot live, Pop3Server server, ILogger logger)
    {
        ReloadRequested(logger);
        if (!layers.TryLoad(out var next, out var settings, out var problem))
        {
            ReloadUnreadable(logger, problem);
            return;
        }
        var logLevels = ChangedLogLevels(live, next);
        var result = server.Reload(settings, logLevels);
        // Log levels come from the host's own configuration; reading it again there makes the logger follow.
        if (!result.Succeeded) return;
        try
        {
            live.Reload();
        }
        catch (Exception ex) when (ServeConfiguration.IsUnusableFile(ex))
        {
            // The file changed again between the check and here: the host's configuration runs without the file's layer
            // (its log levels fall back to the defaults) until the next SIGHUP reads it anew.
            ReloadUnreadable(logger, "log levels from the file dropped until the next reload: " + ServeConfiguration.Describe(ex));
        }
    }

    private static List<string> ChangedLogLevels(IConfiguration running, IConfiguration next)
    {
        static Dictionary<string, string?> Levels(IConfiguration c) => c.GetSection("Logging").AsEnumerable()
            .Where(p => p.Value is not null).ToDictionary(p => p.Key, p => p.Value, StringComparer.OrdinalIgnoreCase);
        var before = Levels(running);
        var after = Levels(next);
        return before.Keys.Union(after.Keys, StringComparer.OrdinalIgnoreCase)
            .Where(k => !string.Equals(before.GetValueOrDefault(k), after.GetValueOrDefault(k), StringComparison.OrdinalIgnoreCase))
            .Order(StringComparer.Ordinal).ToList();
    }

    [LoggerMessage(43, LogLevel.Information, "SIGHUP: reloading the configuration", EventName = "ConfigurationReloadRequested")]
    private static partial void ReloadRequested(ILogger logger);

    [LoggerMessage(44, LogLevel.Error, "Configuration reload refused, the running configuration stays: {Problem}", EventName = "ConfigurationUnreadable")]
    private static partial void ReloadUnreadable(ILogger logger, string problem);
}
