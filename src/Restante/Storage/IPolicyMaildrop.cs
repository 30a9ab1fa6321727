namespace Restante.Storage;

/// <summary>
/// A maildrop that keeps, with the mailbox itself, what the mailbox policies need from one session to the next:
/// when the mailbox last logged in (RFC 2449 §6.5 LOGIN-DELAY) and when each message was first retrieved
/// (§6.7 EXPIRE). It survives restarts and is seen by every node that opens the mailbox. Read when the maildrop
/// is opened, written only while its session lock is held.
/// </summary>
public interface IPolicyMaildrop : IMaildrop
{
    /// <summary>When a session of this mailbox last logged in; null when none was recorded.</summary>
    DateTimeOffset? LastLogin { get; }

    /// <summary>When the message at <paramref name="index"/> of the snapshot was first retrieved; null when never.</summary>
    DateTimeOffset? FirstRetrieved(int index);

    /// <summary>
    /// Records the login time and, for the messages given that have none yet, the first retrieval time, durably by the
    /// time the maildrop is disposed (a store may send it with the release of its lock). Messages this maildrop has
    /// expunged are forgotten.
    /// </summary>
    ValueTask SavePolicyStateAsync(PolicyStateUpdate update, CancellationToken cancellationToken);

    /// <summary>
    /// Removes the messages EXPIRE let go at login (RFC 2449 §6.7), while the session goes on holding its lock: unlike
    /// <see cref="IMaildrop.ExpungeAsync"/>, which ends the session's hold where a store ties the two (a lease released
    /// by QUIT's own statement). Where expunging never releases the lock, it is the same call.
    /// </summary>
    ValueTask<ExpungeResult> ExpireAsync(IReadOnlyList<int> indexes, CancellationToken cancellationToken) => ExpungeAsync(indexes, cancellationToken);
}
