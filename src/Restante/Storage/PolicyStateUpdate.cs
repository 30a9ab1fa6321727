namespace Restante.Storage;

/// <summary>What one session adds to a mailbox's policy state (see <see cref="IPolicyMaildrop"/>).</summary>
/// <param name="LoginAt">The session's login, or null to leave the recorded one.</param>
/// <param name="Retrieved">Snapshot indexes of the messages the session retrieved with RETR.</param>
/// <param name="RetrievedAt">The time recorded for those that had none.</param>
public sealed record PolicyStateUpdate(DateTimeOffset? LoginAt, IReadOnlyList<int> Retrieved, DateTimeOffset RetrievedAt);
