using System.Diagnostics;
using Restante.Auth;
using Restante.Tests.Infrastructure;
using Restante.Tests.Tls;

namespace Restante.Tests.Auth;

/// <summary>
/// `restante user` edits often run as another account than the server's (root, or an admin's own). The rewritten
/// passwd file must keep the old one's owner, group and mode, or the edit must be refused: a file the server can no
/// longer read leaves it serving the old users while the command said it was done.
/// </summary>
[System.Runtime.Versioning.SupportedOSPlatform("linux")]
public class PasswdFileOwnershipTests
{
    private const uint ServerUid = 4321;
    private const uint ServerGid = 4322;

    [RootFact]
    public void An_edit_as_root_keeps_the_owner_group_and_mode_of_the_file()
    {
        using var dir = new Infrastructure.TempDirectory();
        var passwd = Path.Combine(dir.Path, "passwd");
        File.WriteAllText(passwd, "alice:{PLAIN}a\nbob:{PLAIN}b\n");
        Chown(passwd, ServerUid, ServerGid);
        File.SetUnixFileMode(passwd, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.GroupRead);

        PasswdFileEditor.RemoveUser(passwd, "alice");
        PasswdFileEditor.SetPassword(passwd, "bob", "{PLAIN}c");

        Assert.Equal("bob:{PLAIN}c\n", File.ReadAllText(passwd));
        Assert.Equal($"{ServerUid}:{ServerGid}:640", Stat(passwd));
        Assert.Empty(Directory.GetFiles(dir.Path, ".passwd.*.tmp"));
    }

    [RootFact]
    public async Task An_edit_by_another_account_that_cannot_keep_the_owner_is_refused_and_changes_nothing()
    {
        using var dir = new Infrastructure.TempDirectory();
        // A directory the other account may write in, as a shared data directory often is: the old code then wrote a
        // new file of its own there, renamed it over the server's, and said "Removed".
        File.SetUnixFileMode(dir.Path, (UnixFileMode)0x1FF);   // 0777
        var passwd = Path.Combine(dir.Path, "passwd");
        const string content = "alice:{PLAIN}a\nbob:{PLAIN}b\n";
        File.WriteAllText(passwd, content);
        File.SetUnixFileMode(passwd, (UnixFileMode)0x1A4);     // 0644: readable, so only the ownership stands in the way
        var before = Stat(passwd);

        var (exit, output) = await Processes.RunAsync("setpriv", null,
            "--reuid=65534", "--regid=65534", "--clear-groups", "--", "env", $"HOME={dir.Path}", $"DOTNET_CLI_HOME={dir.Path}",
            "dotnet", ServerProcess.CliPath, "user", "del", "alice", "--data", dir.Path);

        Assert.True(exit == 77, $"exit {exit}: {output}");
        Assert.Contains("belongs to uid 0", output, StringComparison.Ordinal);
        Assert.DoesNotContain("Removed", output, StringComparison.Ordinal);
        Assert.Equal(content, File.ReadAllText(passwd));
        Assert.Equal(before, Stat(passwd));
        Assert.Empty(Directory.GetFiles(dir.Path, ".passwd.*.tmp"));
    }

    private static void Chown(string path, uint uid, uint gid)
    {
        using var chown = Process.Start("chown", [$"{uid}:{gid}", path]);
        chown.WaitForExit();
        Assert.Equal(0, chown.ExitCode);
    }

    private static string Stat(string path)
    {
        var start = new ProcessStartInfo("stat", ["-c", "%u:%g:%a", path]) { RedirectStandardOutput = true };
        using var stat = Process.Start(start)!;
        var text = stat.StandardOutput.ReadToEnd().Trim();
        stat.WaitForExit();
        return text;
    }
}

/// <summary>A fact that needs root (to give files to other accounts and to run a command as one); skipped otherwise.</summary>
public sealed class RootFactAttribute : FactAttribute
{
    public RootFactAttribute()
    {
        if (!OperatingSystem.IsLinux() || Environment.UserName != "root" || !File.Exists("/usr/bin/setpriv"))
            Skip = "Needs root on Linux with setpriv(1): the test gives files to other accounts and runs the CLI as nobody.";
    }
}
