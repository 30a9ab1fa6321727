namespace Restante.Storage.Mbox;

/// <summary>The <c>Mbox</c> section: where the spools are and how they are written.</summary>
public sealed class MboxOptions : ISettingsSection
{
    /// <summary>The spool of a user, with <c>%u</c> for the user name, e.g. <c>/var/mail/%u</c>. Empty: DATA/spool-mbox/%u.</summary>
    public string Spool { get; set; } = string.Empty;

    /// <summary>
    /// Where the store keeps its own files per user (the UIDL side file, the rewrite journal, the
    /// session lock). Empty: DATA/mbox. Must not be the spool directory: its names are the store's.
    /// </summary>
    public string StateDirectory { get; set; } = string.Empty;

    /// <summary><c>sidefile</c> (default) or <c>x-uidl</c>: see <see cref="MboxUidlSource"/>.</summary>
    public string Uidl { get; set; } = "sidefile";

    /// <summary><c>mboxrd</c> (default) or <c>mboxo</c>: how <c>From </c> at a line start is quoted.</summary>
    public string Variant { get; set; } = "mboxrd";

    /// <summary>
    /// Whether to take a <c>USER.lock</c> dotlock beside the spool as well as the fcntl lock.
    /// Postfix local(8) and procmail take both by default; the spool directory must then be
    /// writable by this server (Debian: group mail).
    /// </summary>
    public bool Dotlock { get; set; } = true;

    // A spool larger than this is refused ([SYS/PERM]) rather than read: every login reads the
    // whole spool, so a runaway spool must not hold a session (and the MTA's lock) for minutes.
    public long MaxSpoolSize { get; set; } = 2L * 1024 * 1024 * 1024;

    public static bool TryParseUidl(string text, out MboxUidlSource source)
    {
        source = text.Trim().ToLowerInvariant() switch
        {
            "" or "sidefile" => MboxUidlSource.SideFile,
            "x-uidl" => MboxUidlSource.XUidl,
            _ => (MboxUidlSource)(-1),
        };
        return source >= 0;
    }

    public static bool TryParseVariant(string text, out MboxVariant variant)
    {
        variant = text.Trim().ToLowerInvariant() switch
        {
            "" or "mboxrd" => MboxVariant.Mboxrd,
            "mboxo" => MboxVariant.Mboxo,
            _ => (MboxVariant)(-1),
        };
        return variant >= 0;
    }

    /// <summary>What is wrong, each message naming its key (checked at startup when Store is mbox).</summary>
    public IEnumerable<string> Validate()
    {
        if (!string.IsNullOrWhiteSpace(Spool) && (!Spool.Contains("%u", StringComparison.Ordinal)
            || (Path.GetDirectoryName(Spool) ?? "").Contains("%u", StringComparison.Ordinal)))
            yield return "Mbox:Spool must contain %u (the user name) in its last component, for example /var/mail/%u.";
        if (!TryParseUidl(Uidl, out _)) yield return $"Mbox:Uidl: '{Uidl}' is neither sidefile nor x-uidl.";
        if (!TryParseVariant(Variant, out _)) yield return $"Mbox:Variant: '{Variant}' is neither mboxrd nor mboxo.";
        if (MaxSpoolSize <= 0) yield return "Mbox:MaxSpoolSize must be positive.";
    }
}

/// <summary>Where the UIDLs of an mbox spool come from.</summary>
public enum MboxUidlSource
{
    /// <summary>
    /// The side file maps each message's identity (a hash of its <c>From </c> line, headers and
    /// size, so independent of where it sits in the spool) to the UIDL first given to it.
    /// </summary>
    SideFile,

    /// <summary>
    /// As <see cref="SideFile"/>, but the first time a spool is opened (no side file yet), messages
    /// that carry a qpopper <c>X-UIDL:</c> header keep that value as their UIDL. Headers on mail
    /// that arrives later are ignored: a sender could otherwise pick a UIDL a client has seen.
    /// </summary>
    XUidl,
}

/// <summary>How <c>From </c> at the start of a body line is protected (RFC 4155 §2 and its appendix).</summary>
public enum MboxVariant
{
    /// <summary>Quotes <c>&gt;*From </c> by one more <c>&gt;</c>; reversible.</summary>
    Mboxrd,

    /// <summary>Quotes only <c>From </c> as <c>&gt;From </c>; a body line that was <c>&gt;From </c> comes back as <c>From </c>.</summary>
    Mboxo,
}
