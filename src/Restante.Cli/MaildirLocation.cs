using System.CommandLine;
using Restante.Hosting;

namespace Restante.Cli;

/// <summary>
/// The --maildir option of the commands that touch mail, and where the commands that read Maildirs in place without a
/// configuration file (import-uidls, check-uidls) find them: --maildir, else DATA/mail/%u, as
/// the server would (<see cref="RestanteOptions.EffectiveMaildir"/>).
/// </summary>
internal static class MaildirLocation
{
    public static Option<string?> Option() => new("--maildir") { Description = "Maildir path template with %u for the user. Default: DATA/mail/%u" };

    /// <summary>The server options --data and --maildir give (DataDirectory, Maildir; everything else default).</summary>
    public static RestanteOptions Options(ParseResult parse, Option<string> data, Option<string?> maildir)
        => new() { DataDirectory = parse.GetValue(data) ?? "./data", Maildir = parse.GetValue(maildir) ?? "" };
}
