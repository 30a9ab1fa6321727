namespace Restante.Cli;

/// <summary>
/// The one answer to a --config file that is not there, whichever command was given it (serve, config check, db migrate,
/// user …, deliver, purge, restore, the control commands, migrate maildir-to-postgres): the same line on stderr, and the
/// command's exit code for a configuration error. Checked before the layers are read, so the reader's own exception text
/// ("The configuration file '…' was not found and is not optional") is not what an operator sees.
/// </summary>
internal static class ConfigFile
{
    /// <summary>"Configuration error: file not found: /etc/restante.json".</summary>
    public static string NotFound(FileInfo file) => $"Configuration error: file not found: {file.FullName}";

    /// <summary>True, with the line written on <paramref name="error"/>, when <paramref name="file"/> was given and is not a file.</summary>
    public static bool IsMissing(FileInfo? file, TextWriter error)
    {
        if (file is null || file.Exists) return false;
        error.WriteLine(NotFound(file));
        return true;
    }
}
