using System.CommandLine;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Logging.Abstractions;
using Restante.Auth;
using Restante.Hosting;
using Restante.Postgres;
using Restante.Storage;
using Restante.Storage.Maildir;

namespace Restante.Cli;

/// <summary>
/// <c>restante migrate maildir-to-postgres [--postgres CONN] [--config FILE] [--data DIR] [--maildir TEMPLATE] [-u USER]…</c>:
/// copies Maildirs into the PostgreSQL store, keeping every UIDL, with their policy state and retained messages
/// (<see cref="MaildirToPostgres"/>). The store is the one serve would write to: its Postgres:* settings
/// (CompressBodies, ChunkSize, the connection string) and DataDirectory/Maildir come from the same layers as serve's
/// (<see cref="CommandConfiguration"/>), the options on top. Run it again to resume after an
/// interruption or to pick up mail that arrived meanwhile: copied messages are skipped. The Maildirs
/// are left as they are. Exit codes: 0 done, 1 failed (the reason on stderr).
/// </summary>
internal static class MigrateCommand
{
    public static Command Create(Option<string> data)
    {
        var migrate = new Command("migrate", "Move mail between stores");
        var postgres = ServeCommand.PostgresOption();
        var maildir = MaildirLocation.Option();
        var users = new Option<string[]>("--user", "-u") { Description = "Copy only this user (may be repeated). Default: every user in DATA/passwd" };
        var config = new Option<FileInfo?>("--config") { Description = "JSON configuration file (the same as for serve): Postgres:*, DataDirectory, Maildir" };
        var command = new Command("maildir-to-postgres", "Copy Maildirs into the PostgreSQL store, keeping UIDLs; resumable");
        command.Options.Add(postgres);
        command.Options.Add(maildir);
        command.Options.Add(users);
        command.Options.Add(config);
        command.SetAction(async (parse, cancellationToken) =>
        {
            var output = parse.InvocationConfiguration.Output;
            var error = parse.InvocationConfiguration.Error;
            var overrides = new Dictionary<string, string?>();
            if (parse.GetValue(data) is { } d) overrides["DataDirectory"] = d;
            if (parse.GetValue(maildir) is { } m) overrides["Maildir"] = m;
            if (parse.GetValue(postgres) is { } p) overrides["Postgres:ConnectionString"] = p;
            const string Name = "restante migrate maildir-to-postgres";
            if (await CommandConfiguration.LoadAsync(Name, parse.GetValue(config), overrides, error) is not { } loaded) return 1;
            var (root, options) = loaded;
            if (!TryBindStore(root, out var storeOptions, out var problems))
            {
                foreach (var problem in problems) await error.WriteLineAsync($"{Name}: configuration error: {problem}");
                return 1;
            }
            var names = parse.GetValue(users) is { Length: > 0 } given ? given : PasswdFileEditor.ListUsers(options.EffectivePasswdFile).ToArray();
            var source = MaildirToPostgres.CreateSource(options.EffectiveMaildir, options.EffectiveUidlSource);
            await using var target = new PostgresMailStore(storeOptions);
            var total = 0;
            foreach (var name in names)
            {
                try
                {
                    var result = await MaildirToPostgres.CopyAsync(source, target, name, cancellationToken);
                    total += result.Messages;
                    await output.WriteLineAsync(result.Describe(name));
                }
                catch (Exception ex) when (ex is MailStoreException or IOException or UnauthorizedAccessException)
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
        migrate.Subcommands.Add(MaildirToMaildir());
        migrate.Subcommands.Add(CheckUidlsCommand.Create(data));
        return migrate;
    }

    /// <summary>The Postgres section as serve binds it (AddRestantePostgres), validated; false with every problem.</summary>
    private static bool TryBindStore(IConfiguration root, out PostgresStoreOptions options, out List<string> problems)
    {
        options = new PostgresStoreOptions();
        try
        {
            root.GetSection("Postgres").Bind(options);
        }
        catch (InvalidOperationException ex)
        {
            problems = [ServeConfiguration.Describe(ex)];
            return false;
        }
        problems = options.Validate().ToList();
        return problems.Count == 0;
    }

    /// <summary>
    /// <c>restante migrate maildir-to-maildir SRC DST USER [--uidl-source S] [--dovecot-uidl-format F]</c>: copies
    /// USER's Maildir SRC (a path; %u stands for USER) into DST, keeping every UIDL as the source serves it with
    /// the given UidlSource, and writes DST's uidl-map. Resumable: messages DST already has are skipped.
    /// </summary>
    private static Command MaildirToMaildir()
    {
        var src = new Argument<string>("SRC") { Description = "The user's Maildir now (%u: the user)" };
        var dst = new Argument<string>("DST") { Description = "The Maildir to copy into, created if missing (%u: the user)" };
        var user = new Argument<string>("USER") { Description = "The user" };
        var uidlSource = new Option<string>("--uidl-source") { Description = "How SRC's UIDLs are served now: native, dovecot, courier or map. Default: native" };
        var format = new Option<string>("--dovecot-uidl-format") { Description = $"The old Dovecot's pop3_uidl_format for --uidl-source dovecot. Default: {UidlSource.DefaultDovecotFormat}" };
        var command = new Command("maildir-to-maildir", "Copy a Maildir into another, keeping UIDLs (writes DST/uidl-map: serve it with UidlSource map); resumable");
        command.Arguments.Add(src);
        command.Arguments.Add(dst);
        command.Arguments.Add(user);
        command.Options.Add(uidlSource);
        command.Options.Add(format);
        command.SetAction(async (parse, cancellationToken) =>
        {
            var output = parse.InvocationConfiguration.Output;
            var error = parse.InvocationConfiguration.Error;
            var name = parse.GetValue(user)!;
            if (!UidlSource.TryParse(parse.GetValue(uidlSource), parse.GetValue(format), out var source, out var problem))
            {
                await error.WriteLineAsync($"error: {problem}");
                return 64;
            }
            var from = Path.GetFullPath(parse.GetValue(src)!.Replace("%u", name, StringComparison.Ordinal)).TrimEnd('/');
            var to = Path.GetFullPath(parse.GetValue(dst)!.Replace("%u", name, StringComparison.Ordinal)).TrimEnd('/');
            // The store opens PARENT/%u: the source directory's own name stands for the user.
            var store = new MaildirStore(Path.Join(Path.GetDirectoryName(from), "%u"), source, guard: null, NullLogger<MaildirStore>.Instance);
            try
            {
                var result = await MaildirCopy.CopyAsync(store, Path.GetFileName(from), to, copied: null, cancellationToken);
                await output.WriteLineAsync($"{name}: {result.Copied} messages copied, {result.AlreadyThere} already in {to}; UIDLs in {Path.Join(to, "uidl-map")} (serve with \"UidlSource\": \"map\").");
                return 0;
            }
            catch (Exception ex) when (ex is MailStoreException or IOException or UnauthorizedAccessException)
            {
                await error.WriteLineAsync($"error: {name}: {ex.Message}");
                await error.WriteLineAsync("Nothing copied so far is lost; run the command again to resume.");
                return 1;
            }
        });
        return command;
    }
}
