namespace Restante.Delivery;

/// <summary>
/// Reads a user's storage limit from Dovecot's quota rule syntax, as found in a passwd file's extra
/// field (<c>userdb_quota_rule=*:storage=100M</c>). Only the rule for all mailboxes ("*") and its
/// storage limit are used: POP3 has one mailbox, and a message-count limit is not enforced.
/// </summary>
public static class QuotaRule
{
    /// <summary>The passwd-file fields that may carry the rule (Dovecot's userdb_ prefix, or bare).</summary>
    public static readonly string[] FieldNames = ["userdb_quota_rule", "quota_rule"];

    /// <summary>
    /// The limit in octets for <paramref name="fields"/>; 0 means unlimited. Without a rule, the
    /// default applies. A rule we cannot read also gives the default, and <paramref name="error"/> says why.
    /// </summary>
    public static long LimitFor(IReadOnlyDictionary<string, string> fields, long defaultLimit, out string? error)
    {
        error = null;
        foreach (var name in FieldNames)
        {
            if (!fields.TryGetValue(name, out var rule)) continue;
            if (TryParse(rule, defaultLimit, out var limit, out var why)) return limit;
            error = $"{name}={rule}: {why}";
            return defaultLimit;
        }
        return defaultLimit;
    }

    /// <summary>
    /// Parses "*:storage=N" (N in KiB without a unit, as Dovecot reads it), "*:bytes=N" (bytes
    /// without a unit), "*:storage=+N" / "-N" (relative to the default) and 0 for unlimited.
    /// </summary>
    public static bool TryParse(string rule, long defaultLimit, out long limit, out string error)
    {
        limit = defaultLimit;
        error = string.Empty;
        var colon = rule.IndexOf(':', StringComparison.Ordinal);
        if (colon < 0 || rule.AsSpan(0, colon).Trim().ToString() != "*")
        {
            error = "only rules for all mailboxes (\"*:...\") are supported";
            return false;
        }
        var found = false;
        foreach (var part in rule[(colon + 1)..].Split(':', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            var equals = part.IndexOf('=', StringComparison.Ordinal);
            if (equals < 0) continue;
            var key = part[..equals];
            var unitless = key switch
            {
                "storage" => 1024L,   // Dovecot: storage= counts kilobytes unless a unit is given
                "bytes" => 1L,
                _ => 0L,              // messages= and anything else: not a storage limit
            };
            if (unitless == 0) continue;
            var value = part[(equals + 1)..];
            var sign = value.StartsWith('+') ? 1 : value.StartsWith('-') ? -1 : 0;
            if (!ByteSize.TryParse(sign == 0 ? value : value[1..], unitless, out var bytes))
            {
                error = $"'{value}' is not a size";
                return false;
            }
            limit = sign == 0 ? bytes : Math.Max(0, defaultLimit + sign * bytes);
            found = true;
        }
        if (!found)
        {
            // Dovecot rules without storage (e.g. only messages=) leave the storage limit at the default.
            limit = defaultLimit;
        }
        return true;
    }
}
