using System.Collections.Concurrent;
using Microsoft.Extensions.Logging;
using Restante.Storage;

namespace Restante.Pop3.Takeover;

/// <summary>
/// Opens a maildrop for a login, taking it over from a stranded session when it is locked: one of this server's own
/// sessions holds it, that session waits for a command, and its peer has sent nothing for
/// <see cref="Pop3Options.TakeoverIdle"/>. The stranded session is ended the way an autologout ends it (RFC 1939 §3:
/// "without entering the UPDATE state"), so none of its deletions are applied; the new login then opens the maildrop
/// again. Any other holder (an active session, a session of another node of a PostgreSQL cluster, another program
/// holding the Maildir lock) still answers <c>[IN-USE]</c>.
/// </summary>
internal sealed class MailboxTakeover(Pop3Options options, ILogger logger)
{
    // How long the new login waits for the stranded session to let go: it only has to notice its cancelled read and
    // close its lock file or lease. Past this the login is answered [IN-USE] like any other locked mailbox.
    private static readonly TimeSpan ReleaseWait = TimeSpan.FromSeconds(10);

    private readonly ConcurrentDictionary<string, Pop3Session> _holders = new(StringComparer.Ordinal);

    public async ValueTask<IMaildrop> OpenAsync(IMailStore store, string user, Pop3Session opener, CancellationToken cancellationToken)
    {
        try
        {
            return await store.OpenAsync(user, cancellationToken).ConfigureAwait(false);
        }
        catch (MailStoreException ex) when (ex.Kind == MailStoreErrorKind.InUse && options.TakeoverIdle > TimeSpan.Zero
                                            && _holders.TryGetValue(user, out var holder) && holder != opener)
        {
            var silence = holder.Activity.Silence;
            if (!holder.TryEndStranded(options.TakeoverIdle)) throw;
            TakeoverLog.TakenOver(logger, user, holder.Id, holder.RemoteEndPoint, silence, opener.RemoteEndPoint);
            try
            {
                await holder.MaildropReleased.WaitAsync(ReleaseWait, cancellationToken).ConfigureAwait(false);
            }
            catch (TimeoutException)
            {
                TakeoverLog.Stalled(logger, user, holder.Id, ReleaseWait);
                throw new MailStoreException(MailStoreErrorKind.InUse, ex.Message);
            }
        }
        return await store.OpenAsync(user, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>The session now holds the user's maildrop.</summary>
    public void Holding(string user, Pop3Session session) => _holders[user] = session;

    /// <summary>The session has let the maildrop go.</summary>
    public void Released(string user, Pop3Session session) => _holders.TryRemove(new KeyValuePair<string, Pop3Session>(user, session));
}
