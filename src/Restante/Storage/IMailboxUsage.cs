namespace Restante.Storage;

/// <summary>How much a mailbox holds, for quota checks at delivery. Cheap enough to ask per delivery.</summary>
public interface IMailboxUsage
{
    /// <summary>
    /// The octets the user's stored messages take (file sizes as stored). A mailbox that does not
    /// exist yet holds 0. Throws <see cref="MailStoreException"/> when the mailbox cannot be read.
    /// </summary>
    ValueTask<long> GetUsageAsync(string user, CancellationToken cancellationToken);
}
