using System.CommandLine;
using System.Security.Cryptography;
using System.Text;
using Microsoft.Extensions.Logging;
using Restante.Auth;
using Restante.Delivery;
using Restante.Hosting;
using Microsoft.Extensions.DependencyInjection;
using Restante.Protocol;
using Restante.Storage;

namespace Restante.Cli;

/// <summary>
/// <c>restante deliver -u USER [-f SENDER]</c>: one message on standard input, delivered exactly as
/// the LMTP listener does it (trace headers, quota, tmp/ → fsync → new/), for Postfix's
/// <c>mailbox_command</c>, procmail or fetchmail's <c>--mda</c>. The exit code is what those
/// callers read (sysexits.h): 0 delivered; 64 bad usage; 65 message refused (too large);
/// 67 no such user; 73 mailbox cannot take it (over quota, unwritable); 75 try again later;
/// 78 configuration error. 75 and 78 make Postfix keep the message and retry.
/// </summary>
internal static class DeliverCommand
{
    internal const int ExOk = 0;
    internal const int ExUsage = 64;
    internal const int ExDataErr = 65;
    internal const int ExNoUser = 67;
    internal const int ExCantCreat = 73;
    internal const int ExTempFail = 75;
    internal const int ExConfig = 78;

    /// <param name="data">The root command's recursive --data option.</param>
    public static Command Create(Option<string> data)
    {
        // Not Required: a missing -u must give EX_USAGE (64), not the parser's exit code 1.
        var user = new Option<string?>("--user", "-u") { Description = "The local user (or user@domain) to deliver to" };
        var from = new Option<string?>("--from", "-f") { Description = "Envelope sender for Return-Path; default: a leading \"From \" line, else <>" };
        var config = new Option<FileInfo?>("--config") { Description = "JSON configuration file (the same as for serve)" };
        var maildir = MaildirLocation.Option();
        var store = ServeCommand.StoreOption();
        var postgres = ServeCommand.PostgresOption();
        var command = new Command("deliver", "Deliver one message from standard input (exit codes from sysexits.h)")
        {
            TreatUnmatchedTokensAsErrors = false,
        };
        command.Options.Add(user);
        command.Options.Add(from);
        command.Options.Add(config);
        command.Options.Add(maildir);
        command.Options.Add(store);
        command.Options.Add(postgres);
        command.SetAction(async (parse, cancellationToken) =>
        {
            var error = parse.InvocationConfiguration.Error;
            if (parse.UnmatchedTokens.Count > 0 || string.IsNullOrWhiteSpace(parse.GetValue(user)))
            {
                await error.WriteLineAsync("usage: restante deliver -u USER [-f SENDER] [--data DIR] [--config FILE] < message");
                return ExUsage;
            }
            var overrides = new Dictionary<string, string?>();
            if (parse.GetValue(data) is { } d) overrides["DataDirectory"] = d;
            if (parse.GetValue(maildir) is { } m) overrides["Maildir"] = m;
            ServeCommand.AddStoreOverrides(parse, store, postgres, overrides);
            await using var stdin = Console.OpenStandardInput();
            return await RunAsync(parse.GetValue(user)!, parse.GetValue(from), parse.GetValue(config), overrides, stdin, error, cancellationToken);
        });
        return command;
    }

    internal static async Task<int> RunAsync(string user, string? sender, FileInfo? configFile, Dictionary<string, string?> overrides,
        Stream input, TextWriter error, CancellationToken cancellationToken)
    {
        if (await CommandConfiguration.LoadAsync("restante deliver", configFile, overrides, error) is not { } loaded) return ExConfig;
        var (built, options) = loaded;

        // Log lines go to stderr, which Postfix puts in its log or the bounce; stdout stays empty.
        var services = new ServiceCollection()
            .AddLogging(b => b
                .SetMinimumLevel(LogLevel.Warning)
                .AddSimpleConsole(o => o.SingleLine = true)
                .AddConsole(o => o.LogToStandardErrorThreshold = LogLevel.Trace))
            .AddAllStores(built);
        await using var provider = services.BuildServiceProvider();
        var loggerFactory = provider.GetRequiredService<ILoggerFactory>();
        IMailBackend store;
        IUserDirectory users;
        try
        {
            store = provider.GetRequiredService<IMailBackend>();
            users = provider.GetRequiredService<IUserDirectory>();
        }
        catch (InvalidOperationException ex)
        {
            await error.WriteLineAsync($"restante deliver: configuration error: {ex.Message}");
            return ExConfig;
        }
        var delivery = new LocalDelivery(users, store, store,
            new LocalDeliveryOptions
            {
                LocalDomains = options.LocalDomains.Where(x => !string.IsNullOrWhiteSpace(x)).ToList(),
                DefaultQuota = options.EffectiveDefaultQuota,
                MaxMessageSize = options.EffectiveMaxMessageSize,
                // Postfix runs mailbox_command as the recipient, who may not write DATA/spool; the
                // spool file is unlinked at once, so the temp directory ($TMPDIR) is as good.
                SpoolDirectory = Path.GetTempPath(),
                Hostname = System.Net.Dns.GetHostName(),
            }, loggerFactory.CreateLogger("Restante.Delivery"));

        RecipientLookup lookup;
        try
        {
            lookup = await delivery.FindRecipientAsync(user, 0, cancellationToken);
        }
        catch (Exception ex) when (ex is PasswdFileException or IOException or UnauthorizedAccessException)
        {
            await error.WriteLineAsync($"restante deliver: cannot look up {LogText.Of(user, LogText.AddressLimit)}: {ex.Message}");
            return ExTempFail;
        }
        if (lookup.Status is DeliveryStatus.UnknownUser or DeliveryStatus.BadAddress or DeliveryStatus.ForeignDomain)
        {
            await error.WriteLineAsync($"restante deliver: no such user: {LogText.Of(user, LogText.AddressLimit)}");
            return ExNoUser;
        }

        MessageSpool spool;
        try
        {
            spool = MessageSpool.Create(delivery.Options.SpoolDirectory);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            await error.WriteLineAsync($"restante deliver: cannot create a spool file: {ex.Message}");
            return ExTempFail;
        }
        using (spool)
        {
            string? postmarkSender;
            try
            {
                postmarkSender = await ReadMessageAsync(input, spool, delivery.Options.MaxMessageSize, cancellationToken);
            }
            catch (IOException ex)
            {
                await error.WriteLineAsync($"restante deliver: reading the message failed: {ex.Message}");
                return ExTempFail;
            }
            var envelopeSender = sender ?? postmarkSender ?? string.Empty;
            envelopeSender = envelopeSender.Trim().TrimStart('<').TrimEnd('>');
            if (envelopeSender.Any(c => c is < '!' or > '~'))
            {
                await error.WriteLineAsync("restante deliver: the sender must be printable ASCII without spaces");
                return ExUsage;
            }
            if (lookup.Status == DeliveryStatus.OverQuota)
            {
                await error.WriteLineAsync($"restante deliver: mailbox of {LogText.Of(user, LogText.AddressLimit)} is full");
                return ExCantCreat;
            }
            var envelope = new DeliveryEnvelope(envelopeSender, Convert.ToHexString(RandomNumberGenerator.GetBytes(6)));
            var result = await delivery.DeliverAsync(lookup.Recipient!, envelope, spool, cancellationToken);
            var (code, text) = result.Status switch
            {
                DeliveryStatus.Delivered => (ExOk, null),
                DeliveryStatus.TooBig => (ExDataErr, "message exceeds the maximum message size"),
                DeliveryStatus.OverQuota => (ExCantCreat, $"mailbox of {LogText.Of(user, LogText.AddressLimit)} is full"),
                DeliveryStatus.PermanentFailure => (ExCantCreat, $"mailbox of {LogText.Of(user, LogText.AddressLimit)} cannot be written"),
                DeliveryStatus.UnknownUser => (ExNoUser, $"no such user: {LogText.Of(user, LogText.AddressLimit)}"),
                _ => (ExTempFail, "temporary failure, try again later"),
            };
            if (text is not null) await error.WriteLineAsync($"restante deliver: {text}");
            return code;
        }
    }

    /// <summary>
    /// Copies the message into the spool. A leading mbox "From sender date" line (what some MDAs
    /// are handed) is not part of the message: it is dropped, and its sender returned.
    /// </summary>
    private static async Task<string?> ReadMessageAsync(Stream input, MessageSpool spool, long maxSize, CancellationToken cancellationToken)
    {
        var buffer = new byte[64 * 1024];
        var filled = 0;
        // Read enough to see the whole first line (or 1000 octets of it).
        while (filled < 1000)
        {
            var read = await input.ReadAsync(buffer.AsMemory(filled, 1000 - filled), cancellationToken);
            if (read == 0) break;
            filled += read;
            if (Array.IndexOf(buffer, (byte)'\n', 0, filled) >= 0) break;
        }
        string? postmarkSender = null;
        var start = 0;
        if (filled >= 5 && buffer.AsSpan(0, 5).SequenceEqual("From "u8))
        {
            var lf = Array.IndexOf(buffer, (byte)'\n', 0, filled);
            var end = lf < 0 ? filled : lf;
            var words = Encoding.ASCII.GetString(buffer, 5, end - 5).Split(' ', StringSplitOptions.RemoveEmptyEntries);
            if (words.Length > 0) postmarkSender = words[0] == "MAILER-DAEMON" ? string.Empty : words[0];
            start = lf < 0 ? filled : lf + 1;
        }
        await spool.AppendAsync(buffer.AsMemory(start, filled - start), cancellationToken);
        int n;
        while ((n = await input.ReadAsync(buffer, cancellationToken)) > 0)
        {
            // Past the limit the rest is read and dropped: the writer gets an exit code, not EPIPE.
            if (maxSize > 0 && spool.Length > maxSize) continue;
            await spool.AppendAsync(buffer.AsMemory(0, n), cancellationToken);
        }
        await spool.FlushAsync(cancellationToken);
        return postmarkSender;
    }
}
