namespace Restante.Storage;

/// <summary>
/// A store that can keep deleted messages for a while (<c>Retention:Days</c>), out of POP3's sight, and bring them
/// back. A retained message keeps its unique-id, so a restored message is the same message to every client.
/// </summary>
public interface IMessageRetention
{
    /// <summary>
    /// Returns the user's retained messages deleted at or after <paramref name="since"/> (all when null) to the
    /// mailbox, as never retrieved. Returns how many came back.
    /// </summary>
    ValueTask<int> RestoreAsync(string user, DateTimeOffset? since, CancellationToken cancellationToken);

    /// <summary>Removes for good every retained message, of every mailbox, deleted before <paramref name="deletedBefore"/>. Returns how many.</summary>
    ValueTask<int> PurgeAsync(DateTimeOffset deletedBefore, CancellationToken cancellationToken);
}
