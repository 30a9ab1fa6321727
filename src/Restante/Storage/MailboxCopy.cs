namespace Restante.Storage;

/// <summary>
/// Copies mailboxes from one store into another that keeps delivery ids, message by message in
/// arrival order, keeping each message's unique-id verbatim so clients that leave mail on the
/// server download nothing twice. The delivery id is the source's unique-id, so a copy that was
/// interrupted is resumed by running it again: what is already there is skipped.
/// </summary>
public static class MailboxCopy
{
    /// <summary>Copies one user's mailbox. The source is opened like a POP3 session, so it is locked (and consistent) meanwhile.</summary>
    public static async Task<MailboxCopyResult> CopyAsync(IMailStore source, IIdempotentDelivery target, string user, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(source);
        ArgumentNullException.ThrowIfNull(target);
        var drop = await source.OpenAsync(user, cancellationToken).ConfigureAwait(false);
        await using (drop.ConfigureAwait(false))
            return await CopyAsync(drop, target, user, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Copies the messages of a mailbox the caller has opened (and so locked), for a copy that takes more from it.</summary>
    public static async Task<MailboxCopyResult> CopyAsync(IMaildrop drop, IIdempotentDelivery target, string user, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(drop);
        ArgumentNullException.ThrowIfNull(target);
        var copied = 0;
        for (var i = 0; i < drop.Messages.Count; i++)
        {
            var uid = drop.Messages[i].Uid;
            var stream = await drop.OpenMessageAsync(i, cancellationToken).ConfigureAwait(false);
            await using (stream.ConfigureAwait(false))
            {
                var stored = await target.DeliverOnceAsync(user, DeliveryIdOf(uid), stream, uid, cancellationToken).ConfigureAwait(false);
                // The target's own unique-id for a delivery id it already had: the same message, copied before.
                if (!string.Equals(stored, uid, StringComparison.Ordinal))
                    throw new MailStoreException(MailStoreErrorKind.Permanent, $"{user}: message {uid} is stored as {stored}; refusing to change a unique-id.");
            }
            copied++;
        }
        return new MailboxCopyResult(user, copied);
    }

    /// <summary>The delivery id a copied message is recorded under.</summary>
    public static string DeliveryIdOf(string sourceUid) => "copy:" + sourceUid;
}

/// <param name="Messages">Messages now in the target with their source unique-ids (copied now or before).</param>
public readonly record struct MailboxCopyResult(string User, int Messages);
