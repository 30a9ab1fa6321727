using Restante.Protocol;

namespace Restante.Storage.Maildir;

/// <summary>Restoring and purging retained messages (see <see cref="RetainedMessages"/>).</summary>
public sealed partial class MaildirStore
{
    /// <summary>
    /// Under the mailbox lock (a session holding it gets [IN-USE] semantics: try again), so the restored messages can
    /// also be struck from restante-policy: back as never retrieved, EXPIRE counts from their next retrieval.
    /// </summary>
    public ValueTask<int> RestoreAsync(string user, DateTimeOffset? since, CancellationToken cancellationToken)
    {
        cancellationToken.ThrowIfCancellationRequested();
        var path = GetMaildirPath(user);
        try
        {
            using var maildir = VerifiedMaildir.Open(path, _trustedLength, create: false);
            using var held = MaildirLock.TryAcquire(maildir)
                ?? throw new MailStoreException(MailStoreErrorKind.InUse, $"{path} is locked by a POP3 session.");
            var restored = RetainedMessages.Restore(maildir, since, _fsync);
            if (restored > 0)
            {
                var state = PolicyStateFile.Read(maildir);
                if (state.FirstRetrieved.Count > 0)
                {
                    var present = Snapshot.BaseNames(maildir);
                    var retrievedBefore = state.FirstRetrieved.Count;
                    // A name in the state file that is in the mailbox again came back just now (the session that
                    // deleted it would have struck it, unless it stopped half-way): it starts over as unretrieved.
                    foreach (var name in state.FirstRetrieved.Keys.Where(present.Contains).ToList()) state.FirstRetrieved.Remove(name);
                    if (state.FirstRetrieved.Count != retrievedBefore) PolicyStateFile.Write(maildir, state, _fsync);
                }
            }
            return ValueTask.FromResult(restored);
        }
        catch (DirectoryNotFoundException)
        {
            return ValueTask.FromResult(0);
        }
        catch (RefusedMaildirException ex)
        {
            MaildirLog.Refused(_logger, ex.Maildir, ex.Reason);
            throw new MailStoreException(MailStoreErrorKind.Permanent, ex.Message, ex);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            throw new MailStoreException(MailStoreErrorKind.Transient, $"Cannot restore into {path}: {ex.Message}", ex);
        }
    }

    /// <summary>
    /// Every Maildir of the path template (the directories where %u stands): their retained days that have run out.
    /// No lock: a session only ever adds to today's folder, which no purge of a positive retention period takes.
    /// </summary>
    public ValueTask<int> PurgeAsync(DateTimeOffset deletedBefore, CancellationToken cancellationToken)
    {
        var marker = _pathTemplate.IndexOf("%u", StringComparison.Ordinal);
        var end = marker + 2;
        if ((marker > 0 && _pathTemplate[marker - 1] != '/') || (end < _pathTemplate.Length && _pathTemplate[end] != '/'))
            throw new MailStoreException(MailStoreErrorKind.Permanent, $"Cannot list the Maildirs of '{_pathTemplate}': %u must be a whole path component to purge.");
        var parent = marker == 0 ? "." : _pathTemplate[..Math.Max(1, marker - 1)];
        if (!Directory.Exists(parent)) return ValueTask.FromResult(0);
        var purged = 0;
        foreach (var directory in Directory.EnumerateDirectories(parent))
        {
            cancellationToken.ThrowIfCancellationRequested();
            var user = Path.GetFileName(directory);
            if (user.Length == 0 || user[0] == '.') continue;
            var path = _pathTemplate.Replace("%u", user, StringComparison.Ordinal);
            try
            {
                using var maildir = VerifiedMaildir.Open(path, _trustedLength, create: false);
                purged += RetainedMessages.Purge(maildir, deletedBefore, _fsync);
            }
            catch (DirectoryNotFoundException)
            {
                // Not a Maildir (or not all of one): nothing retained there.
            }
            catch (RefusedMaildirException ex)
            {
                MaildirLog.Refused(_logger, ex.Maildir, ex.Reason);
            }
            catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
            {
                MaildirLog.PurgeFailed(_logger, LogText.Of(path, LogText.PathLimit), ex);
            }
        }
        return ValueTask.FromResult(purged);
    }
}
