using Restante.Storage;

namespace Restante.Pop3.Takeover;

/// <summary>
/// A session's letting go of its maildrop: begun once, and a completion a takeover can wait on (made only when one
/// asks: most sessions never need it).
/// </summary>
internal sealed class MaildropRelease
{
    private int _begun;
    // Set once the release has finished (the lock is gone), for a completion asked for after it.
    private bool _done;
    private TaskCompletionSource? _signal;

    /// <summary>Completes once the maildrop is let go.</summary>
    public Task Completion
    {
        get
        {
            var signal = Volatile.Read(ref _signal)
                ?? Interlocked.CompareExchange(ref _signal, new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously), null)
                ?? _signal;
            // Released before anyone asked: Complete found no signal to complete.
            if (Volatile.Read(ref _done)) signal.TrySetResult();
            return signal.Task;
        }
    }

    /// <summary>Closes the maildrop (which lets its lock go), once; removes nothing (only UPDATE does).</summary>
    public async ValueTask ReleaseAsync(Pop3Session session, TransactionMaildrop transaction)
    {
        if (Interlocked.Exchange(ref _begun, 1) != 0) return;
        try
        {
            await transaction.Store.DisposeAsync().ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is IOException or MailStoreException)
        {
            Pop3Log.StoreFailure(session.Logger, ex, session.User!);
        }
        finally
        {
            // Whatever the store threw (a database error is neither of the above): a takeover waiting on this session
            // must not wait out its whole timeout for a release that already ended.
            session.Server.Takeover.Released(session.User!, session);
            Complete();
        }
    }

    private void Complete()
    {
        Volatile.Write(ref _done, true);
        // A full fence: a volatile store followed by a volatile load may be reordered, and then this side could miss a
        // signal created just now while Completion's getter misses the flag, leaving a takeover waiting it out.
        Interlocked.MemoryBarrier();
        Volatile.Read(ref _signal)?.TrySetResult();
    }
}
