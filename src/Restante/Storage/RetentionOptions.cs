namespace Restante.Storage;

/// <summary>The configuration section <c>Retention</c>: soft deletion, off by default.</summary>
public sealed class RetentionOptions : ISettingsSection
{
    /// <summary>
    /// Keep messages deleted through POP3 (DELE and QUIT, or EXPIRE) this many days where POP3 cannot see them,
    /// so <c>restante restore</c> can bring them back. 0: deleted messages are removed at once.
    /// </summary>
    public int Days { get; set; }

    /// <summary>How often the server purges retained messages older than <see cref="Days"/> (also <c>restante purge</c>).</summary>
    public TimeSpan PurgeInterval { get; set; } = TimeSpan.FromDays(1);

    public bool Enabled => Days > 0;

    /// <summary>A purge at <paramref name="now"/> removes what was deleted before this.</summary>
    public DateTimeOffset PurgeCutoff(DateTimeOffset now) => now - TimeSpan.FromDays(Days);

    public IEnumerable<string> Validate()
    {
        if (Days is < 0 or > 36500) yield return "Retention:Days must be between 0 and 36500.";
        if (PurgeInterval < TimeSpan.FromMinutes(1)) yield return "Retention:PurgeInterval must be at least 00:01:00.";
    }
}
