using Restante.Auth.Sasl;

namespace Restante.Pop3;

/// <summary>How POP3 sessions behave. Bound from configuration; every default says why it is what it is.</summary>
public sealed class Pop3Options : ISettingsSection
{
    /// <summary>The host name in the greeting's APOP timestamp. Empty: the machine's name.</summary>
    public string Hostname { get; set; } = string.Empty;

    /// <summary>
    /// When a failed login is answered, counted from when the attempt began (the PASS, APOP or AUTH line, or the last
    /// SASL response): the password check runs inside it, so an unknown user, a wrong password and every password
    /// scheme take the same time, and guessing is slow.
    /// </summary>
    public TimeSpan AuthFailureDelay { get; set; } = TimeSpan.FromSeconds(2);

    /// <summary>RFC 1939 §3: the autologout timer in TRANSACTION must be at least 10 minutes.</summary>
    public TimeSpan IdleTimeout { get; set; } = TimeSpan.FromMinutes(10);

    /// <summary>Before login nobody is owed patience: a connection that does not log in is dropped sooner.</summary>
    public TimeSpan LoginTimeout { get; set; } = TimeSpan.FromMinutes(1);

    /// <summary>A client that stops reading a reply for this long is disconnected, so it cannot pin a session.</summary>
    public TimeSpan WriteTimeout { get; set; } = TimeSpan.FromMinutes(2);

    /// <summary>RFC 2449 §4: command lines of up to 255 octets (CRLF included) must be accepted.</summary>
    public int MaxCommandLine { get; set; } = 255;

    /// <summary>RFC 2449 §4: arguments of up to 40 characters must be accepted. PASS is exempt: a passphrase may be longer.</summary>
    public int MaxArgumentLength { get; set; } = 40;

    /// <summary>
    /// The longest line read at all (AUTH lines carry SASL responses such as OAuth tokens, far longer
    /// than 255 octets). Anything longer is answered once and skipped up to its line end.
    /// </summary>
    public int MaxAuthLine { get; set; } = 16 * 1024;

    /// <summary>After this many errors in a row the server says goodbye and closes the connection.</summary>
    public int MaxBadCommands { get; set; } = 10;

    /// <summary>
    /// Allow USER/PASS (and SASL PLAIN/LOGIN) on unencrypted connections from non-loopback addresses.
    /// Off by default, like Dovecot's disable_plaintext_auth: RFC 2595 §2.3 wants servers able to refuse
    /// clear-text logins, and a password sent in the clear over a network is a password given away.
    /// </summary>
    public bool AllowPlaintext { get; set; }

    /// <summary>
    /// RFC 2449 §6.5 LOGIN-DELAY: the least time between two logins of one user. Zero turns it off.
    /// Announced in CAPA and enforced after the password is checked, so it reveals nothing to a guesser.
    /// </summary>
    public TimeSpan LoginDelay { get; set; } = TimeSpan.Zero;

    /// <summary>
    /// A login that finds the mailbox locked by one of this server's sessions whose peer has sent nothing for this
    /// long, while that session waits for a command, ends that session without applying its deletions and logs in
    /// (see <c>MailboxTakeover</c>). Zero turns takeover off: such logins get <c>[IN-USE]</c> until the autologout timer
    /// or TCP keepalive ends the stranded session.
    /// </summary>
    public TimeSpan TakeoverIdle { get; set; } = TimeSpan.FromSeconds(60);

    /// <summary>TCP keepalive on POP3 connections (section <c>TcpKeepAlive</c>).</summary>
    public Networking.TcpKeepAliveOptions TcpKeepAlive { get; set; } = new();

    /// <summary>Client quirk profiles chosen by address or user (section <c>Quirks</c>).</summary>
    public Restante.Pop3.Quirks.QuirkOptions Quirks { get; set; } = new();

    /// <summary>
    /// RFC 2449 §6.7 EXPIRE, server-wide: days a retrieved message stays before it is removed at a later login
    /// ("0": removed at the QUIT of the session that retrieved it; "NEVER": kept). Per domain and per user: <see cref="Policies"/>.
    /// </summary>
    public string Expire { get; set; } = "NEVER";

    /// <summary>Per-domain LOGIN-DELAY and EXPIRE, and the bounds of users' own values (section <c>Policies</c>).</summary>
    public Policies.MailboxPolicyOptions Policies { get; set; } = new();

    /// <summary>Whether the greeting carries an APOP timestamp; see <see cref="ApopMode"/>.</summary>
    public ApopMode Apop { get; set; } = ApopMode.Auto;

    /// <summary>
    /// Threads that compute password hashes. Each may hold one hash's memory (64 MiB for Dovecot's Argon2id), so this
    /// bounds what a flood of logins can take. About the core count: hashing is CPU work.
    /// </summary>
    public int PasswordHashWorkers { get; set; } = Auth.PasswordHashing.DefaultWorkers;

    /// <summary>Logins that may wait for a hashing thread; past it a login is answered -ERR [SYS/TEMP] at once.</summary>
    public int PasswordHashQueue { get; set; } = Auth.PasswordHashing.DefaultQueueCapacity;

    /// <summary>SASL mechanisms to enable (section <c>Sasl</c>).</summary>
    public SaslOptions Sasl { get; set; } = new();

    /// <summary>OAuth access-token validation for OAUTHBEARER and XOAUTH2 (section <c>OAuth</c>).</summary>
    public OAuthOptions OAuth { get; set; } = new();

    /// <summary>The validation errors, one a line, naming the option; empty when all is well.</summary>
    public IEnumerable<string> Validate()
    {
        if (AuthFailureDelay < TimeSpan.Zero) yield return "AuthFailureDelay must not be negative.";
        if (IdleTimeout < TimeSpan.FromMinutes(10)) yield return "IdleTimeout must be at least 10 minutes (RFC 1939 section 3).";
        if (LoginTimeout <= TimeSpan.Zero) yield return "LoginTimeout must be positive.";
        if (WriteTimeout <= TimeSpan.Zero) yield return "WriteTimeout must be positive.";
        if (MaxCommandLine < 255) yield return "MaxCommandLine must be at least 255 (RFC 2449 section 4).";
        if (MaxArgumentLength < 40) yield return "MaxArgumentLength must be at least 40 (RFC 2449 section 4).";
        if (MaxAuthLine < MaxCommandLine) yield return "MaxAuthLine must be at least MaxCommandLine.";
        if (MaxBadCommands < 1) yield return "MaxBadCommands must be at least 1.";
        if (LoginDelay < TimeSpan.Zero) yield return "LoginDelay must not be negative.";
        if (!Restante.Policies.ExpirePeriod.TryParse(Expire, out _)) yield return $"Expire: '{Expire}' is not a number of days or NEVER.";
        foreach (var problem in Policies.Validate()) yield return problem;
        if (PasswordHashWorkers < 1) yield return "PasswordHashWorkers must be at least 1.";
        if (PasswordHashQueue < 1) yield return "PasswordHashQueue must be at least 1.";
        if (TakeoverIdle < TimeSpan.Zero) yield return "TakeoverIdle must not be negative (zero turns takeover off).";
        foreach (var problem in TcpKeepAlive.Validate()) yield return problem;
        foreach (var problem in Quirks.Validate()) yield return problem;
        if (!Enum.IsDefined(Apop)) yield return "Apop must be Auto, On or Off.";
        foreach (var problem in Sasl.Validate()) yield return problem;
        foreach (var problem in OAuth.Validate()) yield return problem;
    }
}
