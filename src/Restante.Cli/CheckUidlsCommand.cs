using System.CommandLine;
using Microsoft.Extensions.Logging.Abstractions;
using Restante.Hosting;
using Restante.Storage;
using Restante.Storage.Maildir;

namespace Restante.Cli;

/// <summary>
/// <c>restante migrate check-uidls USER [--uidl-source S] [--dovecot-uidl-format F] [--data DIR] [--maildir TEMPLATE]</c>: prints
/// "n UIDL" per message as POP3 UIDL would with that UIDL source, to check a migration before clients
/// connect. Reads only; the mailbox is locked for the moment of reading, like a POP3 session. Not `restante uidl`:
/// that one asks the running server what it serves now; this one tries a UIDL source the server may not use yet.
/// Exit codes: 0 done, 1 the mailbox could not be opened, 64 usage.
/// </summary>
internal static class CheckUidlsCommand
{
    public static Command Create(Option<string> data)
    {
        var user = new Argument<string>("USER") { Description = "The user whose UIDLs to print" };
        var uidlSource = new Option<string>("--uidl-source") { Description = "native, dovecot, courier or map. Default: native" };
        var format = new Option<string>("--dovecot-uidl-format") { Description = $"pop3_uidl_format for --uidl-source dovecot. Default: {UidlSource.DefaultDovecotFormat}" };
        var maildir = MaildirLocation.Option();
        var command = new Command("check-uidls", "Print the UIDLs POP3 would serve for a user's Maildir with a given UIDL source, before switching to it");
        command.Arguments.Add(user);
        command.Options.Add(uidlSource);
        command.Options.Add(format);
        command.Options.Add(maildir);
        command.SetAction(async (parse, cancellationToken) =>
        {
            var output = parse.InvocationConfiguration.Output;
            var error = parse.InvocationConfiguration.Error;
            if (!UidlSource.TryParse(parse.GetValue(uidlSource), parse.GetValue(format), out var source, out var problem))
            {
                await error.WriteLineAsync($"error: {problem}");
                return 64;
            }
            var options = MaildirLocation.Options(parse, data, maildir);
            var store = new MaildirStore(options.EffectiveMaildir, source, guard: null, NullLogger<MaildirStore>.Instance);
            try
            {
                var drop = await store.OpenAsync(parse.GetValue(user)!, cancellationToken);
                await using (drop)
                {
                    for (var i = 0; i < drop.Messages.Count; i++) await output.WriteLineAsync($"{i + 1} {drop.Messages[i].Uid}");
                }
                return 0;
            }
            catch (MailStoreException ex)
            {
                await error.WriteLineAsync($"error: {ex.Message}");
                return 1;
            }
        });
        return command;
    }
}
