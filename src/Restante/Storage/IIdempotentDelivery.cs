namespace Restante.Storage;

/// <summary>
/// Delivery that names each message with a delivery id, so a retried delivery (an MTA that lost
/// the reply, a migration resumed after a crash) stores nothing twice. Stores that cannot keep the
/// id (Maildir) do not implement it.
/// </summary>
public interface IIdempotentDelivery
{
    /// <summary>
    /// Like <see cref="IMessageDelivery.DeliverAsync"/>, but when the user's mailbox already holds a
    /// message with <paramref name="deliveryId"/> nothing is stored and that message's unique-id is
    /// returned. <paramref name="uidl"/>, when given, is kept verbatim as the unique-id (a migration
    /// keeps the UIDLs clients already know); it must be unique in the mailbox.
    /// </summary>
    ValueTask<string> DeliverOnceAsync(string user, string deliveryId, Stream message, string? uidl, CancellationToken cancellationToken);
}
