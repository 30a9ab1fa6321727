using System.Globalization;
using Restante.Auth;

namespace Restante.Policies;

/// <summary>
/// Decides each user's LOGIN-DELAY and EXPIRE, from the most specific source that sets one: the user's own field
/// (passwd extra field or mail_user.fields), the user's domain in <see cref="MailboxPolicyOptions.Domains"/>, the
/// server-wide value. Also what CAPA announces before login, when the user is not known yet (RFC 2449 §6.5, §6.7).
/// </summary>
public sealed class MailboxPolicies
{
    /// <summary>The user fields that set LOGIN-DELAY in seconds (Dovecot's userdb_ prefix, or bare).</summary>
    public static readonly string[] LoginDelayFields = ["userdb_pop3_login_delay", "pop3_login_delay"];

    /// <summary>The user fields that set EXPIRE: days or "never".</summary>
    public static readonly string[] ExpireFields = ["userdb_pop3_expire", "pop3_expire"];

    private readonly TimeSpan _defaultLoginDelay;
    private readonly ExpirePeriod _defaultExpire;
    private readonly Dictionary<string, (TimeSpan? LoginDelay, ExpirePeriod? Expire)> _domains;

    /// <param name="defaultExpire">Validated beforehand: "NEVER" or days.</param>
    public MailboxPolicies(TimeSpan defaultLoginDelay, string defaultExpire, MailboxPolicyOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        _defaultLoginDelay = defaultLoginDelay;
        _defaultExpire = ExpirePeriod.TryParse(defaultExpire, out var expire) ? expire : ExpirePeriod.Never;
        _domains = new(StringComparer.OrdinalIgnoreCase);
        foreach (var (domain, policy) in options.Domains)
            _domains[domain.Trim()] = (policy.LoginDelay, ExpirePeriod.TryParse(policy.Expire, out var e) ? e : null);

        // RFC 2449 §6.5: "the server MUST announce in AUTHENTICATION state the largest value which could be set for
        // any user"; §6.7: for EXPIRE "the smallest value". Users' own fields are held inside these bounds.
        var loginDelay = _domains.Values.Aggregate(_defaultLoginDelay, (max, d) => d.LoginDelay > max ? d.LoginDelay.Value : max);
        if (options.MaxUserLoginDelay > loginDelay) loginDelay = options.MaxUserLoginDelay.Value;
        MaxLoginDelay = loginDelay;
        var minExpire = _domains.Values.Aggregate(_defaultExpire, (min, d) => d.Expire is { } e ? ExpirePeriod.Min(min, e) : min);
        if (options.MinUserExpire is not null && ExpirePeriod.TryParse(options.MinUserExpire, out var floor)) minExpire = ExpirePeriod.Min(minExpire, floor);
        MinExpire = minExpire;
    }

    /// <summary>The largest LOGIN-DELAY any user can have: what CAPA says before login.</summary>
    public TimeSpan MaxLoginDelay { get; }

    /// <summary>The smallest EXPIRE any user can have: what CAPA says before login.</summary>
    public ExpirePeriod MinExpire { get; }

    /// <summary>
    /// Whether the value announced before login might not be a given user's: a domain or a user field may set
    /// another. Then CAPA adds "USER" (RFC 2449 §6.5, §6.7: "to inform the client that a more accurate value is
    /// available after authentication"). A value nobody can go beyond in the announced direction (LOGIN-DELAY 0,
    /// EXPIRE NEVER) is everyone's, and is not announced (LOGIN-DELAY) or announced plainly (EXPIRE NEVER).
    /// </summary>
    public bool LoginDelayVaries => MaxLoginDelay > TimeSpan.Zero;

    public bool ExpireVaries => !MinExpire.IsNever;

    /// <summary>The user's policy; <paramref name="record"/> null (a user directory that does not say) gives the domain's or the server's.</summary>
    public MailboxPolicy For(string user, UserRecord? record, out string? problem)
    {
        ArgumentNullException.ThrowIfNull(user);
        problem = null;
        var loginDelay = _defaultLoginDelay;
        var expire = _defaultExpire;
        var at = user.LastIndexOf('@');
        if (at >= 0 && _domains.TryGetValue(user[(at + 1)..], out var domain))
        {
            if (domain.LoginDelay is { } d) loginDelay = d;
            if (domain.Expire is { } e) expire = e;
        }
        if (record is not null)
        {
            if (Field(record, LoginDelayFields) is { } delayText)
            {
                if (long.TryParse(delayText, NumberStyles.None, CultureInfo.InvariantCulture, out var seconds) && seconds <= 366L * 24 * 3600)
                    loginDelay = TimeSpan.FromSeconds(seconds);
                else
                    problem = $"{LoginDelayFields[0]}={delayText} is not a number of seconds";
            }
            if (Field(record, ExpireFields) is { } expireText)
            {
                if (ExpirePeriod.TryParse(expireText, out var e)) expire = e;
                else problem = $"{ExpireFields[0]}={expireText} is not a number of days or never";
            }
        }
        // Inside the bounds announced before login, whatever a field says.
        if (loginDelay > MaxLoginDelay) loginDelay = MaxLoginDelay;
        expire = ExpirePeriod.Max(expire, MinExpire);
        return new MailboxPolicy(loginDelay, expire);
    }

    private static string? Field(UserRecord record, string[] names)
    {
        foreach (var name in names)
            if (record.Fields.TryGetValue(name, out var value)) return value.Trim();
        return null;
    }
}
