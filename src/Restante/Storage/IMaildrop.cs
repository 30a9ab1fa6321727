namespace Restante.Storage;

/// <summary>
/// One locked POP3 session's view of a mailbox: the snapshot taken when it was opened.
/// Disposing releases the lock and removes nothing.
/// </summary>
public interface IMaildrop : IAsyncDisposable
{
    /// <summary>The snapshot, in arrival order; message number n is index n-1. Never changes.</summary>
    IReadOnlyList<StoredMessage> Messages { get; }

    /// <summary>
    /// Opens the message's bytes as stored (line ends may be bare LF). The caller converts to
    /// CRLF and dot-stuffs; <see cref="StoredMessage.Size"/> is the octet count after CRLF conversion.
    /// </summary>
    ValueTask<Stream> OpenMessageAsync(int index, CancellationToken cancellationToken);

    /// <summary>
    /// Durably removes the given messages (RFC 1939 §6, the UPDATE state). Returns only after the
    /// removal has reached the disk. Messages that were already gone count as removed.
    /// </summary>
    ValueTask<ExpungeResult> ExpungeAsync(IReadOnlyList<int> indexes, CancellationToken cancellationToken);
}
