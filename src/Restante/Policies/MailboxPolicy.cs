namespace Restante.Policies;

/// <summary>The policies one user's sessions are held to.</summary>
/// <param name="LoginDelay">RFC 2449 §6.5: the least time from one login to the next; zero for none.</param>
/// <param name="Expire">RFC 2449 §6.7: how long a retrieved message stays.</param>
public sealed record MailboxPolicy(TimeSpan LoginDelay, ExpirePeriod Expire)
{
    public static MailboxPolicy None { get; } = new(TimeSpan.Zero, ExpirePeriod.Never);

    /// <summary>Whether anything must be remembered between sessions (last login, first retrievals).</summary>
    public bool NeedsState => LoginDelay > TimeSpan.Zero || !Expire.IsNever;
}
