using Microsoft.Extensions.Logging;
using Restante.Storage;

namespace Restante.Hosting;

/// <summary>
/// The server's own purge of retained messages (<c>Retention:Days</c>): a minute after start, then every
/// <see cref="RetentionOptions.PurgeInterval"/> (a day by default). <c>restante purge</c> does the same from cron,
/// for a server that is not always running. Runs are never concurrent; a failed run is logged and tried next time.
/// </summary>
internal sealed partial class RetentionPurger : IAsyncDisposable
{
    private static readonly TimeSpan FirstRunDelay = TimeSpan.FromMinutes(1);

    private readonly IMessageRetention _store;
    private readonly RetentionOptions _options;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;
    private readonly CancellationTokenSource _stopping = new();
    private readonly ITimer _timer;
    private Task _running = Task.CompletedTask;
    private int _busy;

    public RetentionPurger(IMessageRetention store, RetentionOptions options, TimeProvider time, ILogger logger)
    {
        _store = store;
        _options = options;
        _time = time;
        _logger = logger;
        _timer = time.CreateTimer(_ => Run(), null, FirstRunDelay, options.PurgeInterval);
    }

    private void Run()
    {
        if (Interlocked.Exchange(ref _busy, 1) == 1) return;
        _running = RunAsync();
    }

    private async Task RunAsync()
    {
        try
        {
            var purged = await _store.PurgeAsync(_options.PurgeCutoff(_time.GetUtcNow()), _stopping.Token).ConfigureAwait(false);
            Purged(_logger, purged, _options.Days);
        }
        catch (OperationCanceledException) when (_stopping.IsCancellationRequested)
        {
            // Shutting down.
        }
        catch (Exception ex) when (ex is MailStoreException or IOException or UnauthorizedAccessException)
        {
            PurgeFailed(_logger, ex);
        }
        finally
        {
            Volatile.Write(ref _busy, 0);
        }
    }

    public async ValueTask DisposeAsync()
    {
        await _timer.DisposeAsync().ConfigureAwait(false);
        await _stopping.CancelAsync().ConfigureAwait(false);
        await _running.ConfigureAwait(false);
        _stopping.Dispose();
    }

    [LoggerMessage(40, LogLevel.Information, "Purged {Count} retained messages deleted more than {Days} days ago", EventName = "RetentionPurged")]
    private static partial void Purged(ILogger logger, int count, int days);

    [LoggerMessage(41, LogLevel.Warning, "Purging retained messages failed; trying again at the next interval", EventName = "RetentionPurgeFailed")]
    private static partial void PurgeFailed(ILogger logger, Exception exception);
}
