namespace Restante.Storage;

/// <summary>Puts new mail into a mailbox. Never waits for a POP3 session lock.</summary>
public interface IMessageDelivery
{
    /// <summary>
    /// Stores one complete message atomically: it becomes visible whole or not at all, and only
    /// after it is durable. Returns the new message's unique-id.
    /// Throws <see cref="MailStoreException"/> (Transient for I/O errors and a full disk).
    /// </summary>
    ValueTask<string> DeliverAsync(string user, Stream message, CancellationToken cancellationToken);
}
