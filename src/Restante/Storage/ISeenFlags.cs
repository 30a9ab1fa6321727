namespace Restante.Storage;

/// <summary>
/// A maildrop that keeps a "seen" flag other mail readers share (Maildir's S flag, IMAP's \Seen). Optional: POP3 itself
/// has no such flag; the LAST and MarkSeenOnQuit quirks use it when the store has it.
/// </summary>
public interface ISeenFlags
{
    /// <summary>Whether the message was flagged seen when the maildrop was opened.</summary>
    bool IsSeen(int index);

    /// <summary>Flags the messages seen; their unique-ids and sizes do not change.</summary>
    ValueTask MarkSeenAsync(IReadOnlyList<int> indexes, CancellationToken cancellationToken);
}
