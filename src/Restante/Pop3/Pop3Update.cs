using Restante.Pop3.Quirks;
using Restante.Protocol;
using Restante.Storage;

namespace Restante.Pop3;

/// <summary>RFC 1939 §6: QUIT in TRANSACTION enters UPDATE and removes the marked messages; nothing else ever does.</summary>
internal static class Pop3Update
{
    public static async ValueTask<CommandOutcome> RunAsync(Pop3Session session)
    {
        var transaction = session.Transaction!;
        // Seen flags, deletions and the policy state open folders and files: without a descriptor slot, nothing is
        // changed, and the session never entered UPDATE (its summary must not count the marks as deleted).
        using var descriptors = await session.Server.CommandDescriptors.EnterAsync("QUIT", CancellationToken.None).ConfigureAwait(false);
        if (descriptors is null)
        {
            await ReleaseAsync(session).ConfigureAwait(false);
            session.SetEndReason("quit refused: server busy");
            session.RejectBusy("Server busy, nothing was deleted, try again later.");
            return CommandOutcome.Close;
        }
        session.EnterUpdate();
        await SeenOnQuit.ApplyAsync(session, transaction).ConfigureAwait(false);
        var marked = transaction.Store.ToRemoveAtQuit(transaction.DeletedIndexes());
        if (marked.Count == 0)
        {
            await ReleaseAsync(session).ConfigureAwait(false);
            session.WriteOk("Logging out.");
            session.SetEndReason("quit");
            return CommandOutcome.Close;
        }

        ExpungeResult result;
        try
        {
            // Once UPDATE has begun it finishes even if the server is stopping: the client asked for it.
            result = await transaction.Store.ExpungeAsync(marked, CancellationToken.None).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is MailStoreException or IOException or UnauthorizedAccessException)
        {
            Pop3Log.StoreFailure(session.Logger, ex, session.User!);
            result = new ExpungeResult(0, marked.Count);
        }

        // The lock goes before the reply does: a client that logs in again the moment it reads +OK
        // (a poller, a test) must not meet [IN-USE] from the session it just ended.
        await ReleaseAsync(session).ConfigureAwait(false);
        session.SetEndReason("quit");
        if (result.Complete)
        {
            session.WriteOk($"Logging out, {result.Removed} messages deleted.");
        }
        else
        {
            Pop3Log.ExpungeIncomplete(session.Logger, session.User!, result.Removed, marked.Count);
            // RFC 2449 §8 / RFC 3206: the removal is worth retrying, so [SYS/TEMP].
            session.Reject("Some deleted messages not removed.", ResponseCode.SysTemp);
        }
        return CommandOutcome.Close;
    }

    /// <summary>
    /// Lets the maildrop go before the reply (see above), and never keeps the reply from going out. The release logs what
    /// it expects (I/O, the store's own errors); anything else (a database driver's error, a bug in a store) would end
    /// the session with no reply at all, although the deletions were applied. RFC 1939 §6's +OK is about the removal of
    /// the marked messages, which is done, so the client is told so and the release's failure goes to the log: a -ERR
    /// would tell it the messages were kept (it might fetch or delete them again), and the lock is the server's to sort
    /// out, not the client's. The session then ends as after any QUIT (its end finds the release already done).
    /// </summary>
    private static async ValueTask ReleaseAsync(Pop3Session session)
    {
        try
        {
            await session.ReleaseMaildropAsync().ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is not OutOfMemoryException)
        {
            Pop3Log.QuitReleaseFailed(session.Logger, ex, session.User!);
        }
    }
}
