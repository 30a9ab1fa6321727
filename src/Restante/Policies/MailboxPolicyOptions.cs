namespace Restante.Policies;

/// <summary>
/// The configuration section <c>Policies</c>: per-domain LOGIN-DELAY and EXPIRE, and how far a single user's own
/// value (a passwd or mail_user field) may go. The server-wide values are <c>LoginDelay</c> and <c>Expire</c>.
/// </summary>
public sealed class MailboxPolicyOptions : ISettingsSection
{
    /// <summary>By domain (the part of the user name after the last '@', any case).</summary>
    public Dictionary<string, DomainPolicyOptions> Domains { get; set; } = new(StringComparer.OrdinalIgnoreCase);

    /// <summary>
    /// The longest LOGIN-DELAY a user's own field may set. RFC 2449 §6.5: before login the server MUST announce the
    /// largest value any user could have, so a user's field is held to the largest value announced; raise this to
    /// let a field go beyond the configured server and domain values. Unset: no further than those.
    /// </summary>
    public TimeSpan? MaxUserLoginDelay { get; set; }

    /// <summary>
    /// The shortest EXPIRE a user's own field may set ("0", "7"). RFC 2449 §6.7: before login the server MUST
    /// announce the smallest value any user could have. Unset: no shorter than the server and domain values.
    /// </summary>
    public string? MinUserExpire { get; set; }

    public IEnumerable<string> Validate()
    {
        if (MaxUserLoginDelay < TimeSpan.Zero) yield return "Policies:MaxUserLoginDelay must not be negative.";
        if (MinUserExpire is not null && !ExpirePeriod.TryParse(MinUserExpire, out _))
            yield return $"Policies:MinUserExpire: '{MinUserExpire}' is not a number of days or NEVER.";
        foreach (var (domain, policy) in Domains)
        {
            if (policy.LoginDelay < TimeSpan.Zero) yield return $"Policies:Domains:{domain}:LoginDelay must not be negative.";
            if (policy.Expire is not null && !ExpirePeriod.TryParse(policy.Expire, out _))
                yield return $"Policies:Domains:{domain}:Expire: '{policy.Expire}' is not a number of days or NEVER.";
        }
    }
}
