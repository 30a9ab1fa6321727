namespace Restante.Storage.Maildir;

/// <summary>Where the POP3 unique-ids of a Maildir's messages come from.</summary>
public enum UidlSourceKind
{
    /// <summary>Restante's own: the message file's base name (see the README, "UIDLs").</summary>
    Native,

    /// <summary>Dovecot's <c>dovecot-uidlist</c> beside the Maildir, with its <c>pop3_uidl_format</c>.</summary>
    Dovecot,

    /// <summary>Courier's <c>courierpop3dsizelist</c> beside the Maildir.</summary>
    Courier,

    /// <summary>A plain <c>uidl-map</c> file beside the Maildir (base name, UIDL), e.g. written by <c>restante import-uidls</c>.</summary>
    Map,
}

/// <summary>
/// The configured source of UIDLs for Maildir messages. A message the source does not know (mail
/// delivered after the move) gets Restante's native UIDL. The choice is explicit: guessing from
/// whichever file happens to lie in a Maildir would let a stray file change every UIDL a client knows.
/// </summary>
/// <param name="DovecotFormat">Dovecot's <c>pop3_uidl_format</c>; used only with <see cref="UidlSourceKind.Dovecot"/>.</param>
public sealed record UidlSource(UidlSourceKind Kind, string DovecotFormat)
{
    /// <summary>Dovecot's default <c>pop3_uidl_format</c>: uid and uidvalidity, 8 hex digits each.</summary>
    public const string DefaultDovecotFormat = "%08Xu%08Xv";

    public static UidlSource Native { get; } = new(UidlSourceKind.Native, DefaultDovecotFormat);

    /// <summary>The file beside the Maildir this source reads, or null for <see cref="UidlSourceKind.Native"/>.</summary>
    public string? FileName => Kind switch
    {
        UidlSourceKind.Dovecot => "dovecot-uidlist",
        UidlSourceKind.Courier => "courierpop3dsizelist",
        UidlSourceKind.Map => "uidl-map",
        _ => null,
    };

    /// <summary>
    /// What decides the UIDLs this source serves, as one line: the UIDL guard records it and compares
    /// it at the next start. The Dovecot format is part of it; for the others the name is enough.
    /// </summary>
    public string Fingerprint => Kind == UidlSourceKind.Dovecot ? $"dovecot {DovecotFormat}" : Kind.ToString().ToLowerInvariant();

    /// <summary>Parses the configuration values <c>UidlSource</c> and <c>DovecotUidlFormat</c>.</summary>
    public static bool TryParse(string? kind, string? dovecotFormat, out UidlSource source, out string error)
    {
        source = Native;
        var format = string.IsNullOrEmpty(dovecotFormat) ? DefaultDovecotFormat : dovecotFormat;
        var parsed = (kind ?? "").Trim().ToLowerInvariant() switch
        {
            "" or "native" => UidlSourceKind.Native,
            "dovecot" => UidlSourceKind.Dovecot,
            "courier" => UidlSourceKind.Courier,
            "map" => UidlSourceKind.Map,
            _ => (UidlSourceKind?)null,
        };
        if (parsed is null)
        {
            error = $"UidlSource: '{kind}' is not one of native, dovecot, courier, map.";
            return false;
        }
        if (parsed == UidlSourceKind.Dovecot && !DovecotUidlFormat.TryParse(format, out _, out var formatError))
        {
            error = $"DovecotUidlFormat: {formatError}";
            return false;
        }
        source = new UidlSource(parsed.Value, format);
        error = "";
        return true;
    }
}
