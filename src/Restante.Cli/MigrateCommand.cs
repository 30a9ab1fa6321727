using System.CommandLine;
using Microsoft.Extensions.Logging.Abstractions;
using Restante.Auth;
using Restante.Hosting;
using Restante.Postgres;
using Restante.Storage;
using Restante.Storage.Maildir;

namespace Restante.Cli;

/// <summary>
/// <c>restante migrate maildir-to-postgres --postgres CONN [--data DIR] [--maildir TEMPLATE] [-u USER]…</c>:
/// copies Maildirs into the PostgreSQL store, keeping every UIDL. Run it again to resume after an
/// interruption or to pick up mail that arrived meanwhile: copied messages are skipped. The Maildirs
/// are left as they are. Exit codes: 0 done, 1 failed (the reason on stderr).
/// </summary>
internal static class MigrateCommand
{
    public static Command Create(Option<string> data)
    {
        var migrate = new Command("migrate", "Move mail between stores");
        var postgres = ServeCommand.PostgresOption();
        var maildir = new Option<string?>("--maildir") { Description = "Maildir path template with %u for the user. Default: DATA/mail/%u" };
        var users = new Option<string[]>("--user", "-u") { Description = "Copy only this user (may be repeated). Default: every user in DATA/passwd" };
        var command = new Command("maildir-to-postgres", "Copy Maildirs into the PostgreSQL store, keeping UIDLs; resumable");
        command.Options.Add(postgres);
        command.Options.Add(maildir);
        command.Options.Add(users);
        command.SetAction(async (parse, cancellationToken) =>
        {
            var output = parse.InvocationConfiguration.Output;
            var error = parse.InvocationConfiguration.Error;
            var connectionString = DbCommand.ConnectionString(null, parse.GetValue(postgres));
            if (string.IsNullOrWhiteSpace(connectionString))
            {
                await error.WriteLineAsync("error: no connection string; give --postgres \"Host=…;Database=…\" or set RESTANTE_POSTGRES__CONNECTIONSTRING");
                return 1;
            }
            var options = new RestanteOptions { DataDirectory = parse.GetValue(data) ?? "./data", Maildir = parse.GetValue(maildir) ?? "" };
            var names = parse.GetValue(users) is { Length: > 0 } given ? given : PasswdFileEditor.ListUsers(options.EffectivePasswdFile).ToArray();
            var source = new MaildirStore(options.EffectiveMaildir, NullLogger<MaildirStore>.Instance);
            await using var target = new PostgresMailStore(new PostgresStoreOptions { ConnectionString = connectionString });
            var total = 0;
            foreach (var name in names)
            {
                try
                {
                    var result = await MailboxCopy.CopyAsync(source, target, name, cancellationToken);
                    total += result.Messages;
                    await output.WriteLineAsync($"{name}: {result.Messages} messages");
                }
                catch (MailStoreException ex)
                {
                    await error.WriteLineAsync($"error: {name}: {ex.Message}");
                    await error.WriteLineAsync("Nothing copied so far is lost; run the command again to resume.");
                    return 1;
                }
            }
            await output.WriteLineAsync($"Done: {names.Length} mailboxes, {total} messages in PostgreSQL.");
            return 0;
        });
        migrate.Subcommands.Add(command);
        migrate.Subcommands.Add(MboxMigrateCommand.Create(data));
        return migrate;
    }
}
