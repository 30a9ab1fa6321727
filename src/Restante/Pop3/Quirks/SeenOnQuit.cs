using Restante.Storage;

namespace Restante.Pop3.Quirks;

/// <summary>
/// The MarkSeenOnQuit quirk: at QUIT, before the deletions are applied, the messages this session retrieved in full
/// (RETR, not TOP) and did not delete are flagged seen in the store, when the store keeps such a flag (Maildir: moved
/// to <c>cur/</c> with S, as an IMAP server sets \Seen). A failure is logged and QUIT goes on: a flag is a courtesy,
/// the deletions are what the client asked for.
/// </summary>
internal static class SeenOnQuit
{
    public static async ValueTask ApplyAsync(Pop3Session session, TransactionMaildrop transaction)
    {
        if (!session.Quirks.MarkSeenOnQuit || transaction.Store is not ISeenFlags flags) return;
        var retrieved = new List<int>();
        for (var i = 0; i < transaction.Count; i++)
            if (transaction.WasRetrieved(i) && !transaction.IsDeleted(i)) retrieved.Add(i);
        if (retrieved.Count == 0) return;
        try
        {
            await flags.MarkSeenAsync(retrieved, CancellationToken.None).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is MailStoreException or IOException or UnauthorizedAccessException)
        {
            Pop3Log.StoreFailure(session.Logger, ex, session.User!);
        }
    }
}
