using Restante.Delivery;
using Restante.Networking;

namespace Restante.Hosting;

/// <summary>Where Restante keeps its data and where it listens. Bound from the configuration root.</summary>
public sealed class RestanteOptions : ISettingsSection
{
    /// <summary>The data directory: the passwd file, the default Maildirs, the development certificate.</summary>
    public string DataDirectory { get; set; } = "data";

    /// <summary>
    /// POP3 listen addresses. Empty means the embedded default, 127.0.0.1:1110 — loopback and an
    /// unprivileged port, so a first start needs neither root nor a firewall decision.
    /// </summary>
    public List<string> Pop3 { get; set; } = [];

    /// <summary>
    /// POP3S (implicit TLS, RFC 8314) listen addresses. When neither this nor <see cref="Pop3"/> is set,
    /// the embedded default also listens on 127.0.0.1:1995; production sets 0.0.0.0:995.
    /// </summary>
    public List<string> Pop3s { get; set; } = [];

    /// <summary>
    /// Offer TLS (STLS and POP3S). With no <see cref="TlsCertificate"/> a self-signed certificate for
    /// localhost is created in DATA/tls/ on first start.
    /// </summary>
    public bool Tls { get; set; } = true;

    /// <summary>PEM certificate file (certbot's fullchain.pem), reloaded when it changes. Empty: DATA/tls/cert.pem, created if missing.</summary>
    public string TlsCertificate { get; set; } = string.Empty;

    /// <summary>PEM private key file (certbot's privkey.pem). Empty: the key is in <see cref="TlsCertificate"/>, or DATA/tls/key.pem.</summary>
    public string TlsKey { get; set; } = string.Empty;

    /// <summary>
    /// TLS session resumption: a returning client presents the ticket (or TLS 1.2 session id) of its last
    /// session and skips the certificate and the signature. False: every handshake is a full one and no
    /// ticket is issued. What the ticket keys are and how long they live: <see cref="CertificateProvider.AllowResumption"/>.
    /// </summary>
    public bool TlsResumption { get; set; } = true;

    /// <summary>
    /// Where mail is kept: "maildir" (the default), "postgres" (needs the Restante.Postgres provider
    /// and <c>Postgres:ConnectionString</c>) or "memory" (lost at exit; for tests). One store serves
    /// POP3, LMTP/SMTP, `restante deliver` and quota alike.
    /// </summary>
    public string Store { get; set; } = DefaultStore;

    public const string DefaultStore = "maildir";

    /// <summary>The store name as providers match it: trimmed, lower case, "maildir" when empty.</summary>
    public string EffectiveStore => string.IsNullOrWhiteSpace(Store) ? DefaultStore : Store.Trim().ToLowerInvariant();

    /// <summary>
    /// Where users are looked up: "passwd" (the default, <see cref="PasswdFile"/>) or "postgres" (the
    /// mail_user table of the PostgreSQL store's database).
    /// </summary>
    public string Users { get; set; } = DefaultUsers;

    public const string DefaultUsers = "passwd";

    public string EffectiveUsers => string.IsNullOrWhiteSpace(Users) ? DefaultUsers : Users.Trim().ToLowerInvariant();

    /// <summary>The mbox store (Store: mbox): spool template, UIDL source, quoting variant.</summary>
    public Restante.Storage.Mbox.MboxOptions Mbox { get; set; } = new();

    /// <summary>Maildir path template, %u is the user name. Empty: DATA/mail/%u.</summary>
    public string Maildir { get; set; } = string.Empty;

    /// <summary>
    /// Where Maildir UIDLs come from: "native" (Restante's own, the default), "dovecot" (dovecot-uidlist
    /// beside each Maildir, with <see cref="DovecotUidlFormat"/>), "courier" (courierpop3dsizelist) or
    /// "map" (a uidl-map file, e.g. from `restante import-uidls`). Messages the file does not name get
    /// the native UIDL.
    /// </summary>
    public string UidlSource { get; set; } = "native";

    /// <summary>The previous Dovecot's pop3_uidl_format, for UidlSource "dovecot". Default: %08Xu%08Xv.</summary>
    public string DovecotUidlFormat { get; set; } = Restante.Storage.Maildir.UidlSource.DefaultDovecotFormat;

    /// <summary>Start even though the UIDL source differs from the one whose UIDLs clients have seen (the UIDL guard).</summary>
    public bool AcceptUidlChange { get; set; }

    /// <summary>The parsed <see cref="UidlSource"/>; validated by <see cref="Validate"/>.</summary>
    public Restante.Storage.Maildir.UidlSource EffectiveUidlSource
        => Restante.Storage.Maildir.UidlSource.TryParse(UidlSource, DovecotUidlFormat, out var source, out var error)
            ? source : throw new InvalidOperationException(error);

    /// <summary>The user file in Dovecot passwd-file format. Empty: DATA/passwd.</summary>
    public string PasswdFile { get; set; } = string.Empty;

    /// <summary>fsync messages and directories before acknowledging. Turn off only for throwaway test data.</summary>
    public bool Fsync { get; set; } = true;

    /// <summary>
    /// LMTP listen addresses: "127.0.0.1:2424", or a Unix-domain socket ("unix:/run/restante/lmtp.sock",
    /// or any path starting with '/'). Empty entries are ignored, so [""] turns LMTP off. The library
    /// listens on none by default; `restante serve` supplies <see cref="DefaultLmtpAddress"/>.
    /// </summary>
    public List<string> Lmtp { get; set; } = [];

    /// <summary>SMTP listen addresses (same forms as <see cref="Lmtp"/>): for application tests, off by default.</summary>
    public List<string> Smtp { get; set; } = [];

    /// <summary>
    /// The domains whose mail is delivered here. Empty: every domain (user@anything goes to user),
    /// for a listener only the local MTA reaches. Otherwise other domains are refused — never relayed.
    /// </summary>
    public List<string> LocalDomains { get; set; } = [];

    /// <summary>Storage limit for users without a quota rule in the passwd file ("100M", "1G"); empty or 0: none.</summary>
    public string DefaultQuota { get; set; } = string.Empty;

    /// <summary>The largest message accepted over LMTP/SMTP or by `restante deliver` (RFC 1870 SIZE); 0: no limit.</summary>
    public string MaxMessageSize { get; set; } = "50M";

    /// <summary>
    /// Every POP3 and POP3S listener expects a HAProxy PROXY protocol header (v1 or v2) before each
    /// connection's first byte, so limits, throttling, the plaintext policy and logs see the client
    /// behind the load balancer. Needs <see cref="ProxyTrustedNetworks"/>. For one listener at a time
    /// (LMTP and SMTP too) use <see cref="ProxyProtocolListeners"/>.
    /// </summary>
    public bool ProxyProtocol { get; set; }

    /// <summary>
    /// Listen addresses, as written in <see cref="Pop3"/>, <see cref="Pop3s"/>, <see cref="Lmtp"/> or
    /// <see cref="Smtp"/>, whose listeners expect a PROXY header — in addition to all POP3/POP3S
    /// listeners when <see cref="ProxyProtocol"/> is on. A direct listener (webmail on loopback) and one
    /// behind HAProxy can so run side by side.
    /// </summary>
    public List<string> ProxyProtocolListeners { get; set; } = [];

    /// <summary>True when the POP3/POP3S listener on <paramref name="address"/> expects a PROXY header.</summary>
    public bool Pop3ExpectsProxyHeader(string address) => ProxyProtocol || IsProxyListener(address);

    /// <summary>True when the LMTP/SMTP listener on <paramref name="address"/> expects a PROXY header.</summary>
    public bool DeliveryExpectsProxyHeader(string address) => IsProxyListener(address);

    /// <summary>True when any listener expects a PROXY header.</summary>
    public bool AnyProxyListener => (ProxyProtocol && EffectivePop3.Count + EffectivePop3s.Count > 0) || ProxyProtocolListeners.Count > 0;

    private bool IsProxyListener(string address)
        => ProxyProtocolListeners.Any(listed => SameListenAddress(listed, address));

    /// <summary>Compares as endpoints, so "localhost:110" and "127.0.0.1:110" are one listener.</summary>
    private static bool SameListenAddress(string a, string b)
        => ListenAddress.TryParseEndPoint(a.Trim(), out var x, out _) && ListenAddress.TryParseEndPoint(b.Trim(), out var y, out _) && x.Equals(y);

    private IEnumerable<string> AllListenAddresses => EffectivePop3.Concat(EffectivePop3s).Concat(EffectiveLmtp).Concat(EffectiveSmtp);

    /// <summary>
    /// The load balancers allowed to send a PROXY header (addresses or CIDR ranges). A connection from
    /// anywhere else is closed: a header from an arbitrary peer would let it claim any address.
    /// </summary>
    public List<string> ProxyTrustedNetworks { get; set; } = [];

    /// <summary>Soft deletion (section <c>Retention</c>): keep deleted messages <c>Days</c> days for <c>restante restore</c>. Off by default.</summary>
    public Storage.RetentionOptions Retention { get; set; } = new();

    public const string DefaultPop3Address = "127.0.0.1:1110";

    public const string DefaultPop3sAddress = "127.0.0.1:1995";

    /// <summary>The embedded default applies only when no listener at all is configured.</summary>
    private bool NoListenersConfigured => Pop3.Count == 0 && Pop3s.Count == 0;

    public IReadOnlyList<string> EffectivePop3 => NoListenersConfigured ? [DefaultPop3Address] : Pop3;

    public IReadOnlyList<string> EffectivePop3s => NoListenersConfigured && Tls ? [DefaultPop3sAddress] : Pop3s;

    /// <summary>Where the development certificate lives when no <see cref="TlsCertificate"/> is given.</summary>
    public string DevCertificateDirectory => Path.Combine(Path.GetFullPath(DataDirectory), "tls");

    /// <summary>What `restante serve` listens on for LMTP unless told otherwise.</summary>
    public const string DefaultLmtpAddress = "127.0.0.1:2424";

    public IReadOnlyList<string> EffectiveLmtp => Lmtp.Where(a => !string.IsNullOrWhiteSpace(a)).ToList();

    public IReadOnlyList<string> EffectiveSmtp => Smtp.Where(a => !string.IsNullOrWhiteSpace(a)).ToList();

    public long EffectiveDefaultQuota => ParseSize(DefaultQuota) ?? 0;

    public long EffectiveMaxMessageSize => ParseSize(MaxMessageSize) ?? 0;

    /// <summary>Where messages are kept while being received (unlinked files, never visible).</summary>
    public string EffectiveSpoolDirectory => Path.Combine(Path.GetFullPath(DataDirectory), "spool");

    private static long? ParseSize(string text)
        => string.IsNullOrWhiteSpace(text) ? 0 : ByteSize.TryParse(text, 1, out var bytes) ? bytes : null;


    public string EffectiveMaildir => string.IsNullOrWhiteSpace(Maildir)
        ? Path.Combine(Path.GetFullPath(DataDirectory), "mail", "%u")
        : Maildir;

    public string EffectivePasswdFile => string.IsNullOrWhiteSpace(PasswdFile)
        ? Path.Combine(Path.GetFullPath(DataDirectory), "passwd")
        : PasswdFile;

    public IEnumerable<string> Validate()
    {
        if (string.IsNullOrWhiteSpace(DataDirectory)) yield return "DataDirectory must not be empty.";
        foreach (var address in EffectivePop3)
            if (!ListenAddress.TryParse(address, out _, out var error)) yield return $"Pop3: {error}";
        foreach (var address in EffectivePop3s)
            if (!ListenAddress.TryParse(address, out _, out var error)) yield return $"Pop3s: {error}";
        if (!Tls && Pop3s.Count > 0) yield return "Pop3s needs Tls (it is set to false).";
        if (!Tls && !string.IsNullOrWhiteSpace(TlsCertificate)) yield return "TlsCertificate is set but Tls is false.";
        if (!string.IsNullOrWhiteSpace(TlsKey) && string.IsNullOrWhiteSpace(TlsCertificate))
            yield return "TlsKey needs TlsCertificate (the development certificate in DATA/tls/ has its own key).";
        foreach (var address in EffectiveLmtp)
            if (!ListenAddress.TryParseEndPoint(address, out _, out var error)) yield return $"Lmtp: {error}";
        foreach (var address in EffectiveSmtp)
            if (!ListenAddress.TryParseEndPoint(address, out _, out var error)) yield return $"Smtp: {error}";
        if (ParseSize(DefaultQuota) is null) yield return $"DefaultQuota: '{DefaultQuota}' is not a size (for example 100M or 1G).";
        if (ParseSize(MaxMessageSize) is null) yield return $"MaxMessageSize: '{MaxMessageSize}' is not a size (for example 50M).";
        foreach (var text in ProxyTrustedNetworks)
            if (!NetworkRange.TryParse(text, out _)) yield return $"ProxyTrustedNetworks: '{text}' is not an address or CIDR range.";
        foreach (var listed in ProxyProtocolListeners)
        {
            if (ListenAddress.TryGetSocketPath(listed.Trim(), out _))
                yield return $"ProxyProtocolListeners: '{listed}' is a Unix-domain socket; the PROXY protocol is for TCP listeners behind a load balancer.";
            else if (!AllListenAddresses.Any(a => SameListenAddress(a, listed)))
                yield return $"ProxyProtocolListeners: '{listed}' is not one of the listen addresses (Pop3, Pop3s, Lmtp, Smtp).";
        }
        if (AnyProxyListener && ProxyTrustedNetworks.Count == 0)
            yield return "ProxyProtocol needs ProxyTrustedNetworks: the addresses of the load balancers that send the header.";
        foreach (var problem in Retention.Validate()) yield return problem;
        if (!Restante.Storage.Maildir.UidlSource.TryParse(UidlSource, DovecotUidlFormat, out _, out var uidlError)) yield return uidlError;
        if (!string.IsNullOrWhiteSpace(Maildir) && !Maildir.Contains("%u", StringComparison.Ordinal))
            yield return "Maildir must contain %u (the user name), for example /var/vmail/%u/Maildir.";
        if (EffectiveStore == "mbox")
            foreach (var error in Mbox.Validate()) yield return error;
    }
}
