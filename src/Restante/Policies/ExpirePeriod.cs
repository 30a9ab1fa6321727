using System.Globalization;

namespace Restante.Policies;

/// <summary>
/// The argument of RFC 2449 §6.7 EXPIRE: the least number of days a retrieved message stays on the server,
/// or NEVER. 0 means the client may not leave mail on the server: what it retrieved with RETR goes at QUIT.
/// </summary>
public readonly record struct ExpirePeriod : IComparable<ExpirePeriod>
{
    private ExpirePeriod(int? days) => Days = days;

    /// <summary>"EXPIRE NEVER": the server deletes nothing on its own.</summary>
    public static ExpirePeriod Never { get; } = new(null);

    /// <summary>Days after the first retrieval; null for NEVER.</summary>
    public int? Days { get; }

    public bool IsNever => Days is null;

    public static ExpirePeriod AfterDays(int days)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(days);
        return new ExpirePeriod(days);
    }

    /// <summary>"NEVER" (any case) or a whole number of days from 0 to 36500.</summary>
    public static bool TryParse(string? text, out ExpirePeriod period)
    {
        period = Never;
        if (string.IsNullOrWhiteSpace(text)) return false;
        text = text.Trim();
        if (text.Equals("NEVER", StringComparison.OrdinalIgnoreCase)) return true;
        if (!int.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out var days) || days > 36500) return false;
        period = new ExpirePeriod(days);
        return true;
    }

    /// <summary>NEVER is the longest period.</summary>
    public int CompareTo(ExpirePeriod other) => (Days, other.Days) switch
    {
        (null, null) => 0,
        (null, _) => 1,
        (_, null) => -1,
        var (a, b) => a!.Value.CompareTo(b!.Value),
    };

    public static ExpirePeriod Min(ExpirePeriod a, ExpirePeriod b) => a.CompareTo(b) <= 0 ? a : b;

    public static ExpirePeriod Max(ExpirePeriod a, ExpirePeriod b) => a.CompareTo(b) >= 0 ? a : b;

    /// <summary>The CAPA argument: "NEVER" or the number of days.</summary>
    public override string ToString() => Days?.ToString(CultureInfo.InvariantCulture) ?? "NEVER";
}
