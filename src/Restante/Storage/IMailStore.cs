namespace Restante.Storage;

/// <summary>Where mailboxes live. One implementation per backend (Maildir, PostgreSQL, in-memory).</summary>
public interface IMailStore
{
    /// <summary>
    /// Opens the user's maildrop for one POP3 session: takes the exclusive session lock and
    /// fixes the snapshot of messages. Throws <see cref="MailStoreException"/> with
    /// <see cref="MailStoreErrorKind.InUse"/> when another session holds the lock.
    /// </summary>
    ValueTask<IMaildrop> OpenAsync(string user, CancellationToken cancellationToken);

    /// <summary>
    /// The messages a session opening the maildrop now would see (unique-ids and sizes, in
    /// message-number order), read without the session lock: for administration while a client
    /// may be logged in. Changes nothing, creates nothing (no mailbox yet: empty), and does not
    /// disturb a session holding the lock.
    /// </summary>
    ValueTask<IReadOnlyList<StoredMessage>> ListAsync(string user, CancellationToken cancellationToken);
}
