using System.CommandLine;
using Restante.Auth;

namespace Restante.Cli;

/// <summary>
/// <c>restante user add|passwd|del|list</c>: manage the passwd file at "&lt;data&gt;/passwd". A running server picks
/// the changes up on the next login (<see cref="PasswdFile"/> re-reads the file when it changes).
/// Exit codes: 0 done, 1 refused or failed (bad name, user exists or is missing, unreadable file), 77 the passwd file
/// belongs to another account and its owner could not be kept (run as that account or as root).
/// </summary>
internal static class UserCommands
{
    private const string DefaultDataDirectory = "./data";
    private const string PasswdFileName = "passwd";

    /// <param name="dataOption">The shared --data option. The caller adds it to the root command (Recursive), so it
    /// is not added here again.</param>
    public static Command Create(Option<string> dataOption)
    {
        ArgumentNullException.ThrowIfNull(dataOption);
        var user = new Command("user", "Manage the users in <data>/passwd");
        user.Subcommands.Add(CreateAdd(dataOption));
        user.Subcommands.Add(CreatePasswd(dataOption));
        user.Subcommands.Add(CreateDel(dataOption));
        user.Subcommands.Add(CreateList(dataOption));
        return user;
    }

    private static Command CreateAdd(Option<string> dataOption)
        => CreatePasswordCommand(dataOption, adding: true, "add", "Add a user; asks for the password (or reads it with --password-stdin)");

    private static Command CreatePasswd(Option<string> dataOption)
        => CreatePasswordCommand(dataOption, adding: false, "passwd", "Set a user's password; other fields of the user's line are kept");

    /// <summary>`user add` and `user passwd`: the same steps, but one wants the user absent and the other present.</summary>
    private static Command CreatePasswordCommand(Option<string> dataOption, bool adding, string verb, string description)
    {
        var name = NameArgument();
        var scheme = PwCommand.SchemeOption();
        var stdin = PwCommand.PasswordStdinOption();
        var command = new Command(verb, description);
        command.Arguments.Add(name);
        command.Options.Add(scheme);
        command.Options.Add(stdin);
        command.SetAction(parseResult =>
        {
            var output = parseResult.InvocationConfiguration.Output;
            var error = parseResult.InvocationConfiguration.Error;
            var userName = parseResult.GetValue(name)!;
            var dataDirectory = DataDirectory(parseResult, dataOption);
            var path = Path.Combine(dataDirectory, PasswdFileName);
            return Run(error, () =>
            {
                if (!CheckName(userName, error) || !PwCommand.TryGetScheme(parseResult.GetValue(scheme), error, out var passwordScheme))
                    return 1;
                // Checked before prompting, so nobody types a password twice only to be told the name is wrong.
                var exists = PasswdFileEditor.ListUsers(path).Contains(userName, StringComparer.Ordinal);
                if (exists == adding)
                {
                    error.WriteLine(adding ? $"error: user {userName} already exists in {path}" : $"error: user {userName} does not exist in {path}");
                    return 1;
                }
                var password = PwCommand.ReadNewPassword(parseResult.GetValue(stdin), error);
                if (password is null)
                    return 1;
                WarnIfPlain(passwordScheme, error);
                var stored = $"{{{passwordScheme.Name}}}{passwordScheme.Hash(password)}";
                if (adding)
                {
                    CreatePrivateDirectory(dataDirectory);
                    PasswdFileEditor.AddUser(path, userName, stored);
                    output.WriteLine($"Added user {userName} ({passwordScheme.Name}) to {path}.");
                }
                else
                {
                    PasswdFileEditor.SetPassword(path, userName, stored);
                    output.WriteLine($"Changed the password of {userName} ({passwordScheme.Name}).");
                }
                return 0;
            });
        });
        return command;
    }

    private static Command CreateDel(Option<string> dataOption)
    {
        var name = NameArgument();
        var command = new Command("del", "Remove a user from the passwd file (mail is not deleted)");
        command.Arguments.Add(name);
        command.SetAction(parseResult =>
        {
            var output = parseResult.InvocationConfiguration.Output;
            var error = parseResult.InvocationConfiguration.Error;
            var userName = parseResult.GetValue(name)!;
            var path = Path.Combine(DataDirectory(parseResult, dataOption), PasswdFileName);
            return Run(error, () =>
            {
                if (!CheckName(userName, error))
                    return 1;
                PasswdFileEditor.RemoveUser(path, userName);
                output.WriteLine($"Removed user {userName}.");
                return 0;
            });
        });
        return command;
    }

    private static Command CreateList(Option<string> dataOption)
    {
        var command = new Command("list", "Print the user names, one a line");
        command.SetAction(parseResult =>
        {
            var output = parseResult.InvocationConfiguration.Output;
            var error = parseResult.InvocationConfiguration.Error;
            var path = Path.Combine(DataDirectory(parseResult, dataOption), PasswdFileName);
            return Run(error, () =>
            {
                foreach (var userName in PasswdFileEditor.ListUsers(path))
                    output.WriteLine(userName);
                return 0;
            });
        });
        return command;
    }

    private static Argument<string> NameArgument() => new("name") { Description = "The login name" };

    private static string DataDirectory(ParseResult parseResult, Option<string> dataOption)
    {
        var value = parseResult.GetValue(dataOption);
        return string.IsNullOrWhiteSpace(value) ? DefaultDataDirectory : value;
    }

    private static bool CheckName(string userName, TextWriter error)
    {
        if (UserName.IsValid(userName, out var reason))
            return true;
        error.WriteLine($"error: invalid user name: {reason}");
        return false;
    }

    private static void WarnIfPlain(IPasswordScheme scheme, TextWriter error)
    {
        if (scheme.TryGetPlaintext("", out _))
            error.WriteLine($"note: {scheme.Name} keeps the password readable in the file; use it only for users who need APOP.");
    }

    private static void CreatePrivateDirectory(string path)
    {
        if (Directory.Exists(path))
            return;
        // The data directory will hold password hashes and mail: only the server's user needs to read it.
        if (OperatingSystem.IsWindows())
            Directory.CreateDirectory(path);
        else
            Directory.CreateDirectory(path, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
    }

    // Turns the operator-facing failures into "error: …" and exit code 1; anything else is a bug and propagates.
    // sysexits.h EX_NOPERM, as `restante deliver` uses sysexits codes too.
    private const int NoPermission = 77;

    private static int Run(TextWriter error, Func<int> action)
    {
        try
        {
            return action();
        }
        catch (ArgumentException ex)
        {
            // Without the " (Parameter 'x')" suffix .NET appends: the operator never saw a parameter.
            var message = ex.ParamName is null ? ex.Message : ex.Message.Replace($" (Parameter '{ex.ParamName}')", "", StringComparison.Ordinal);
            error.WriteLine($"error: {message}");
            return 1;
        }
        catch (PasswdFileOwnerException ex)
        {
            error.WriteLine($"error: {ex.Message}");
            return NoPermission;
        }
        catch (Exception ex) when (ex is PasswdFileException or IOException or UnauthorizedAccessException)
        {
            error.WriteLine($"error: {ex.Message}");
            return 1;
        }
    }
}
