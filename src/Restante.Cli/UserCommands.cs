using System.CommandLine;
using Restante.Auth;

namespace Restante.Cli;

/// <summary>
/// <c>restante user add|passwd|del|list</c>: manage the passwd file at "&lt;data&gt;/passwd", or with
/// <c>--users postgres</c> (or Users in the configuration) the PostgreSQL mail_user table. A running server picks
/// the changes up on the next login (<see cref="PasswdFile"/> re-reads the file when it changes).
/// Exit codes: 0 done, 1 refused or failed (bad name, user exists or is missing, unreadable file), 77 the passwd file
/// belongs to another account and its owner could not be kept (run as that account or as root).
/// </summary>
internal static class UserCommands
{
    private const string DefaultDataDirectory = "./data";
    private const string PasswdFileName = "passwd";

    /// <summary>The options that choose the user table, shared by every subcommand (Recursive).</summary>
    private sealed class TableOptions
    {
        public Option<string?> Users { get; } = new("--users")
        {
            Description = "Where users are kept: passwd (default, <data>/passwd) or postgres",
            Recursive = true,
        };

        public Option<string?> Postgres { get; } = new("--postgres")
        {
            Description = "PostgreSQL connection string for --users postgres",
            Recursive = true,
        };

        public Option<FileInfo?> Config { get; } = new("--config")
        {
            Description = "JSON configuration file (Users, Postgres:ConnectionString)",
            Recursive = true,
        };
    }

    /// <param name="dataOption">The shared --data option. The caller adds it to the root command (Recursive), so it
    /// is not added here again.</param>
    public static Command Create(Option<string> dataOption)
    {
        ArgumentNullException.ThrowIfNull(dataOption);
        var user = new Command("user", "Manage the users in <data>/passwd (or, with --users postgres, in PostgreSQL)");
        var tableOptions = new TableOptions();
        user.Options.Add(tableOptions.Users);
        user.Options.Add(tableOptions.Postgres);
        user.Options.Add(tableOptions.Config);
        user.Subcommands.Add(CreateAdd(dataOption, tableOptions));
        user.Subcommands.Add(CreatePasswd(dataOption, tableOptions));
        user.Subcommands.Add(CreateDel(dataOption, tableOptions));
        user.Subcommands.Add(CreateList(dataOption, tableOptions));
        return user;
    }

    private static Command CreateAdd(Option<string> dataOption, TableOptions tableOptions)
        => CreatePasswordCommand(dataOption, tableOptions, adding: true, "add", "Add a user; asks for the password (or reads it with --password-stdin)");

    private static Command CreatePasswd(Option<string> dataOption, TableOptions tableOptions)
        => CreatePasswordCommand(dataOption, tableOptions, adding: false, "passwd", "Set a user's password; other fields of the user's line are kept");

    /// <summary>`user add` and `user passwd`: the same steps, but one wants the user absent and the other present.</summary>
    private static Command CreatePasswordCommand(Option<string> dataOption, TableOptions tableOptions, bool adding, string verb, string description)
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
            // Stored the way logins are checked (RFC 6856 §2.2, PRECIS: see Precis).
            var typedName = parseResult.GetValue(name)!;
            var userName = Precis.TryPrepareUserName(typedName, out var preparedName, out _) ? preparedName : typedName;
            var dataDirectory = DataDirectory(parseResult, dataOption);
            return Run(parseResult.GetValue(tableOptions.Config), error, () =>
            {
                using var table = OpenTable(parseResult, tableOptions, dataDirectory);
                if (!CheckName(userName, error) || !PwCommand.TryGetScheme(parseResult.GetValue(scheme), error, out var passwordScheme))
                    return 1;
                // Checked before prompting, so nobody types a password twice only to be told the name is wrong.
                var exists = table.Exists(userName);
                if (exists == adding)
                {
                    error.WriteLine(adding ? $"error: user {userName} already exists in {table.Where}" : $"error: user {userName} does not exist in {table.Where}");
                    return 1;
                }
                var password = PwCommand.ReadNewPassword(parseResult.GetValue(stdin), error);
                if (password is null)
                    return 1;
                WarnIfPlain(passwordScheme, error);
                // Prepared as logins prepare it; a password PRECIS refuses (a control character) is kept as typed, and is
                // checked as typed too (Authenticator), so nothing that worked before stops working.
                var stored = $"{{{passwordScheme.Name}}}{passwordScheme.Hash(Precis.PasswordForStorage(password))}";
                if (adding)
                {
                    if (table is PasswdUserTable) CreatePrivateDirectory(dataDirectory);
                    table.Add(userName, stored);
                    output.WriteLine($"Added user {userName} ({passwordScheme.Name}) to {table.Where}.");
                }
                else
                {
                    table.SetPassword(userName, stored);
                    output.WriteLine($"Changed the password of {userName} ({passwordScheme.Name}).");
                }
                return 0;
            });
        });
        return command;
    }

    private static Command CreateDel(Option<string> dataOption, TableOptions tableOptions)
    {
        var name = NameArgument();
        var command = new Command("del", "Remove a user from the passwd file (mail is not deleted)");
        command.Arguments.Add(name);
        command.SetAction(parseResult =>
        {
            var output = parseResult.InvocationConfiguration.Output;
            var error = parseResult.InvocationConfiguration.Error;
            var userName = parseResult.GetValue(name)!;
            var dataDirectory = DataDirectory(parseResult, dataOption);
            return Run(parseResult.GetValue(tableOptions.Config), error, () =>
            {
                if (!CheckName(userName, error))
                    return 1;
                using var table = OpenTable(parseResult, tableOptions, dataDirectory);
                table.Remove(userName);
                output.WriteLine($"Removed user {userName}.");
                return 0;
            });
        });
        return command;
    }

    private static Command CreateList(Option<string> dataOption, TableOptions tableOptions)
    {
        var command = new Command("list", "Print the user names, one a line");
        command.SetAction(parseResult =>
        {
            var output = parseResult.InvocationConfiguration.Output;
            var error = parseResult.InvocationConfiguration.Error;
            var dataDirectory = DataDirectory(parseResult, dataOption);
            return Run(parseResult.GetValue(tableOptions.Config), error, () =>
            {
                using var table = OpenTable(parseResult, tableOptions, dataDirectory);
                foreach (var userName in table.List())
                    output.WriteLine(userName);
                return 0;
            });
        });
        return command;
    }

    /// <summary>--users, else Users from --config or RESTANTE_USERS; "postgres" needs a connection string the same way.</summary>
    private static IUserTable OpenTable(ParseResult parseResult, TableOptions options, string dataDirectory)
    {
        var configFile = parseResult.GetValue(options.Config);
        var configuration = new Microsoft.Extensions.Configuration.ConfigurationBuilder();
        if (configFile is not null) Microsoft.Extensions.Configuration.JsonConfigurationExtensions.AddJsonFile(configuration, configFile.FullName, optional: false);
        Microsoft.Extensions.Configuration.EnvironmentVariablesExtensions.AddEnvironmentVariables(configuration, "RESTANTE_");
        var built = configuration.Build();
        var users = (parseResult.GetValue(options.Users) ?? built["Users"] ?? Hosting.RestanteOptions.DefaultUsers).Trim().ToLowerInvariant();
        switch (users)
        {
            case "passwd":
                return new PasswdUserTable(Path.Combine(dataDirectory, PasswdFileName));
            case "postgres":
                var connectionString = DbCommand.ConnectionString(configFile, parseResult.GetValue(options.Postgres));
                if (string.IsNullOrWhiteSpace(connectionString))
                    throw new ArgumentException("--users postgres needs --postgres \"Host=…;Database=…\" or Postgres:ConnectionString");
                return new PostgresUserTable(connectionString);
            default:
                throw new ArgumentException($"unknown user directory '{users}'; use passwd or postgres");
        }
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

    private static int Run(FileInfo? configFile, TextWriter error, Func<int> action)
    {
        if (ConfigFile.IsMissing(configFile, error)) return 1;
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
        catch (Exception ex) when (ex is PasswdFileException or Npgsql.NpgsqlException)
        {
            error.WriteLine($"error: {ex.Message}");
            return 1;
        }
        catch (Exception ex) when (ServeConfiguration.IsUnusableFile(ex))
        {
            // A --config file that cannot be read, or the passwd file's own I/O: one line either way.
            error.WriteLine($"error: {ServeConfiguration.Describe(ex)}");
            return 1;
        }
    }
}
