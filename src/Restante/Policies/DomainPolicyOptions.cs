namespace Restante.Policies;

/// <summary>One entry of <c>Policies:Domains</c>: what users of a domain get instead of the server-wide values.</summary>
public sealed class DomainPolicyOptions
{
    /// <summary>LOGIN-DELAY for the domain's users; unset: the server-wide <c>LoginDelay</c>.</summary>
    public TimeSpan? LoginDelay { get; set; }

    /// <summary>EXPIRE for the domain's users ("30", "0", "NEVER"); unset: the server-wide <c>Expire</c>.</summary>
    public string? Expire { get; set; }
}
