using System.CommandLine;
using Microsoft.Extensions.Logging.Abstractions;
using Restante.Hosting;
using Restante.Storage;
using Restante.Storage.Maildir;

namespace Restante.Cli;

/// <summary>
/// <c>restante import-uidls USER --from pop3s://user@oldhost:995 [--password-file F] [--insecure] [--write]</c>:
/// logs in to the server being replaced, pairs its messages with the user's Maildir here by size and
/// header, and reports (dry run) or writes the Maildir's uidl-map. Exit codes: 0 done, 1 failed, 64 usage.
/// </summary>
internal static class ImportUidlsCommand
{
    public static Command Create(Option<string> data)
    {
        var user = new Argument<string>("USER") { Description = "The user here whose Maildir gets the old UIDLs" };
        var from = new Option<string>("--from") { Description = "The old server: pop3s://NAME@HOST[:995] or pop3://NAME@HOST[:110] (STLS when offered)", Required = true };
        var passwordFile = new Option<FileInfo?>("--password-file") { Description = "Read the old server's password from this file's first line. Default: standard input" };
        var insecure = new Option<bool>("--insecure") { Description = "Accept any certificate, and plain POP3 without STLS (test servers, trusted networks only)" };
        var write = new Option<bool>("--write") { Description = "Write the uidl-map. Default: a dry run that only reports" };
        var maildir = MaildirLocation.Option();
        var command = new Command("import-uidls", "Take over the UIDLs an old POP3 server serves, by matching its messages to the Maildir here");
        command.Arguments.Add(user);
        command.Options.Add(from);
        command.Options.Add(passwordFile);
        command.Options.Add(insecure);
        command.Options.Add(write);
        command.Options.Add(maildir);
        command.SetAction(async (parse, cancellationToken) =>
        {
            var output = parse.InvocationConfiguration.Output;
            var error = parse.InvocationConfiguration.Error;
            var name = parse.GetValue(user)!;
            if (!Uri.TryCreate(parse.GetValue(from), UriKind.Absolute, out var uri) || uri.Scheme is not ("pop3" or "pop3s") || string.IsNullOrEmpty(uri.UserInfo))
            {
                await error.WriteLineAsync("error: --from must look like pop3s://NAME@HOST:995 or pop3://NAME@HOST:110");
                return 64;
            }
            var remoteUser = Uri.UnescapeDataString(uri.UserInfo.Split(':')[0]);
            var file = parse.GetValue(passwordFile);
            var password = file is not null ? File.ReadLines(file.FullName).FirstOrDefault() : await Console.In.ReadLineAsync(cancellationToken);
            if (string.IsNullOrEmpty(password))
            {
                await error.WriteLineAsync("error: no password (give --password-file FILE or one line on standard input)");
                return 64;
            }
            var options = MaildirLocation.Options(parse, data, maildir);
            var safeSource = $"{uri.Scheme}://{uri.UserInfo.Split(':')[0]}@{uri.Authority}";
            List<RemoteMessage> remote;
            try
            {
                await using var client = await OldServerClient.ConnectAsync(uri, parse.GetValue(insecure), cancellationToken);
                await client.LoginAsync(remoteUser, password, cancellationToken);
                remote = await client.ListMessagesAsync(cancellationToken);
                await client.QuitAsync(cancellationToken);
            }
            catch (Exception ex) when (ex is IOException or System.Net.Sockets.SocketException or System.Security.Authentication.AuthenticationException)
            {
                await error.WriteLineAsync($"error: {safeSource}: {ex.Message}");
                return 1;
            }

            var store = new MaildirStore(options.EffectiveMaildir, NullLogger<MaildirStore>.Instance);
            UidlMatch match;
            try
            {
                match = await UidlImport.RunAsync(store, name, remote, parse.GetValue(write), safeSource, cancellationToken);
            }
            catch (MailStoreException ex)
            {
                await error.WriteLineAsync($"error: {name}: {ex.Message}");
                return 1;
            }
            await output.WriteLineAsync($"{name} here, {safeSource} there: {remote.Count} messages there, {match.Matched.Count + match.OnlyHere.Count + match.Ambiguous.Sum(a => a.Here.Count)} here");
            await output.WriteLineAsync($"  matched:    {match.Matched.Count}  (same size and header: will keep the old UIDL)");
            await output.WriteLineAsync($"  only there: {match.OnlyThere.Count}  (not in this Maildir: nothing to keep)");
            await output.WriteLineAsync($"  only here:  {match.OnlyHere.Count}  (not on the old server: Restante's own UIDL)");
            await output.WriteLineAsync($"  ambiguous:  {match.Ambiguous.Sum(a => a.Here.Count)}  (identical headers and sizes, different counts: Restante's own UIDL)");
            foreach (var m in match.OnlyThere.Take(20)) await output.WriteLineAsync($"  only there: message {m.Number} {m.Uidl} ({m.Size} octets)");
            foreach (var m in match.OnlyHere.Take(20)) await output.WriteLineAsync($"  only here:  {m.BaseName} ({m.Size} octets)");
            foreach (var (here, there) in match.Ambiguous.Take(20))
                await output.WriteLineAsync($"  ambiguous:  {string.Join(", ", here.Select(h => h.BaseName))} here; {string.Join(", ", there.Select(t => t.Uidl))} there");
            var mapPath = Path.Combine(options.EffectiveMaildir.Replace("%u", name, StringComparison.Ordinal), "uidl-map");
            await output.WriteLineAsync(parse.GetValue(write)
                ? $"Wrote {match.Matched.Count} UIDLs to {mapPath}. Serve them with \"UidlSource\": \"map\"."
                : $"Dry run: nothing written. Run again with --write to write {mapPath}, then serve with \"UidlSource\": \"map\".");
            return 0;
        });
        return command;
    }
}
