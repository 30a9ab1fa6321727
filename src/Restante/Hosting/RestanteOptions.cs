using Restante.Networking;

namespace Restante.Hosting;

/// <summary>Where Restante keeps its data and where it listens. Bound from the configuration root.</summary>
public sealed class RestanteOptions
{
    /// <summary>The data directory: the passwd file, the default Maildirs, the development certificate.</summary>
    public string DataDirectory { get; set; } = "data";

    /// <summary>
    /// POP3 listen addresses. Empty means the embedded default, 127.0.0.1:1110 — loopback and an
    /// unprivileged port, so a first start needs neither root nor a firewall decision.
    /// </summary>
    public List<string> Pop3 { get; set; } = [];

    /// <summary>Maildir path template, %u is the user name. Empty: DATA/mail/%u.</summary>
    public string Maildir { get; set; } = string.Empty;

    /// <summary>The user file in Dovecot passwd-file format. Empty: DATA/passwd.</summary>
    public string PasswdFile { get; set; } = string.Empty;

    /// <summary>fsync messages and directories before acknowledging. Turn off only for throwaway test data.</summary>
    public bool Fsync { get; set; } = true;

    public const string DefaultPop3Address = "127.0.0.1:1110";

    public IReadOnlyList<string> EffectivePop3 => Pop3.Count == 0 ? [DefaultPop3Address] : Pop3;

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
        if (!string.IsNullOrWhiteSpace(Maildir) && !Maildir.Contains("%u", StringComparison.Ordinal))
            yield return "Maildir must contain %u (the user name), for example /var/vmail/%u/Maildir.";
    }
}
