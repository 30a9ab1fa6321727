using System.CommandLine;
using Restante.Storage;
using Restante.Storage.Mbox;

namespace Restante.Cli;

/// <summary>
/// <c>restante migrate mbox-to-maildir SPOOL MAILDIR [--user USER] [--uidl x-uidl|sidefile] [--state DIR]</c>:
/// copies an mbox spool into a Maildir and writes MAILDIR/uidl-map so the UIDLs clients know stay
/// the same. Run it again to resume: what the map has is skipped. Exit codes: 0 done, 1 failed.
/// </summary>
internal static class MboxMigrateCommand
{
    public static Command Create(Option<string> data)
    {
        var spool = new Argument<string>("SPOOL") { Description = "The mbox spool, e.g. /var/mail/alice" };
        var maildir = new Argument<string>("MAILDIR") { Description = "The Maildir to fill (created if missing)" };
        var user = new Option<string?>("--user", "-u") { Description = "Whose spool it is (names the UIDL side file). Default: the spool's file name" };
        var uidl = new Option<string>("--uidl")
        {
            Description = "x-uidl: keep qpopper's X-UIDL headers where the spool has them (default); sidefile: ignore them",
            DefaultValueFactory = _ => "x-uidl",
        };
        var variant = new Option<string>("--variant") { Description = "mboxrd (default) or mboxo", DefaultValueFactory = _ => "mboxrd" };
        var state = new Option<string?>("--state") { Description = "The mbox store's state directory (a side file Restante kept for this spool is read there). Default: DATA/mbox" };
        var command = new Command("mbox-to-maildir", "Copy an mbox spool into a Maildir keeping UIDLs (writes MAILDIR/uidl-map); resumable");
        command.Arguments.Add(spool);
        command.Arguments.Add(maildir);
        command.Options.Add(user);
        command.Options.Add(uidl);
        command.Options.Add(variant);
        command.Options.Add(state);
        command.SetAction(async (parse, cancellationToken) =>
        {
            var output = parse.InvocationConfiguration.Output;
            var error = parse.InvocationConfiguration.Error;
            if (!MboxOptions.TryParseUidl(parse.GetValue(uidl)!, out var source) || !MboxOptions.TryParseVariant(parse.GetValue(variant)!, out var quoting))
            {
                await error.WriteLineAsync("error: --uidl must be x-uidl or sidefile, --variant mboxrd or mboxo");
                return 1;
            }
            var spoolPath = Path.GetFullPath(parse.GetValue(spool)!);
            var name = parse.GetValue(user) ?? Path.GetFileName(spoolPath);
            var stateDirectory = parse.GetValue(state) ?? Path.Combine(Path.GetFullPath(parse.GetValue(data) ?? "./data"), "mbox");
            try
            {
                // The store opens SPOOL's directory + the user name; a spool not named after its user is reached through %u anyway.
                var directory = Path.GetDirectoryName(spoolPath)!;
                var store = new MboxStore(Path.Combine(directory, "%u"), stateDirectory, source, quoting);
                if (!string.Equals(name, Path.GetFileName(spoolPath), StringComparison.Ordinal))
                {
                    await error.WriteLineAsync($"error: --user {name} does not name {spoolPath}; the spool's file name must be the user name");
                    return 1;
                }
                var result = await MboxToMaildir.CopyAsync(store, name, Path.GetFullPath(parse.GetValue(maildir)!), fsync: true, cancellationToken);
                await output.WriteLineAsync($"{name}: {result.Messages} messages, {result.Copied} copied now, {result.Skipped} copied before; UIDLs in {Path.Combine(parse.GetValue(maildir)!, MboxToMaildir.UidlMapName)}");
                return 0;
            }
            catch (Exception ex) when (ex is MailStoreException or IOException or UnauthorizedAccessException or ArgumentException)
            {
                await error.WriteLineAsync($"error: {ex.Message}");
                await error.WriteLineAsync("Nothing copied so far is lost; run the command again to resume.");
                return 1;
            }
        });
        return command;
    }
}
