using System.CommandLine;
using System.Globalization;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Restante.Hosting;
using Restante.Storage;

namespace Restante.Cli;

/// <summary>
/// <c>restante restore USER [--since DATE]</c> brings back a user's retained messages (<c>Retention:Days</c>) with
/// their UIDLs; <c>restante purge</c> removes for good what has been retained longer than <c>Retention:Days</c>, for
/// cron when the server does not run all the time (it purges daily itself). Both take the configuration of
/// <c>serve</c> (--config, RESTANTE_* variables, --data, --maildir, --store, --postgres). Exit codes: 0 done,
/// 1 refused or failed (the reason on stderr), 75 the mailbox is in use by a POP3 session (try again).
/// </summary>
internal static class RetentionCommands
{
    internal const int ExTempFail = 75;

    public static Command CreateRestore(Option<string> data)
    {
        var user = new Argument<string>("USER") { Description = "Whose messages to bring back" };
        var since = new Option<string?>("--since") { Description = "Only messages deleted on or after this date (YYYY-MM-DD, UTC) or time (ISO 8601)" };
        var command = new Command("restore", "Bring a user's retained deleted messages back, with their UIDLs (needs Retention:Days)");
        command.Arguments.Add(user);
        command.Options.Add(since);
        var common = AddCommonOptions(command);
        command.SetAction(async (parse, cancellationToken) =>
        {
            var output = parse.InvocationConfiguration.Output;
            var error = parse.InvocationConfiguration.Error;
            DateTimeOffset? from = null;
            if (parse.GetValue(since) is { } text)
            {
                if (!DateTimeOffset.TryParse(text, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal | DateTimeStyles.AdjustToUniversal, out var parsed))
                {
                    await error.WriteLineAsync($"restante restore: --since '{text}' is not a date (YYYY-MM-DD) or ISO 8601 time");
                    return 1;
                }
                from = parsed;
            }
            var name = parse.GetValue(user)!;
            return await RunAsync(parse, data, common, error, async (store, _) =>
            {
                var restored = await store.RestoreAsync(name, from, cancellationToken);
                await output.WriteLineAsync($"{name}: {restored} messages restored");
            }, cancellationToken);
        });
        return command;
    }

    public static Command CreatePurge(Option<string> data)
    {
        var command = new Command("purge", "Remove retained messages deleted more than Retention:Days days ago (for cron)");
        var common = AddCommonOptions(command);
        command.SetAction(async (parse, cancellationToken) =>
        {
            var output = parse.InvocationConfiguration.Output;
            var error = parse.InvocationConfiguration.Error;
            return await RunAsync(parse, data, common, error, async (store, options) =>
            {
                var purged = await store.PurgeAsync(options.Retention.PurgeCutoff(DateTimeOffset.UtcNow), cancellationToken);
                await output.WriteLineAsync($"{purged} retained messages purged (Retention:Days {options.Retention.Days})");
            }, cancellationToken);
        });
        return command;
    }

    private sealed record CommonOptions(Option<FileInfo?> Config, Option<string?> Maildir, Option<string?> Store, Option<string?> Postgres);

    private static CommonOptions AddCommonOptions(Command command)
    {
        var common = new CommonOptions(
            new Option<FileInfo?>("--config") { Description = "JSON configuration file (the same as for serve)" },
            MaildirLocation.Option(),
            ServeCommand.StoreOption(),
            ServeCommand.PostgresOption());
        command.Options.Add(common.Config);
        command.Options.Add(common.Maildir);
        command.Options.Add(common.Store);
        command.Options.Add(common.Postgres);
        return common;
    }

    private static async Task<int> RunAsync(ParseResult parse, Option<string> data, CommonOptions common, TextWriter error,
        Func<IMessageRetention, RestanteOptions, Task> act, CancellationToken cancellationToken)
    {
        var name = CommandConfiguration.NameOf(parse);
        var overrides = new Dictionary<string, string?>();
        if (parse.GetValue(data) is { } d) overrides["DataDirectory"] = d;
        if (parse.GetValue(common.Maildir) is { } m) overrides["Maildir"] = m;
        ServeCommand.AddStoreOverrides(parse, common.Store, common.Postgres, overrides);
        if (await CommandConfiguration.LoadAsync(name, parse.GetValue(common.Config), overrides, error) is not { } loaded) return 1;
        var (built, options) = loaded;
        var services = new ServiceCollection()
            .AddLogging(b => b.SetMinimumLevel(LogLevel.Warning).AddSimpleConsole(o => o.SingleLine = true).AddConsole(o => o.LogToStandardErrorThreshold = LogLevel.Trace))
            .AddAllStores(built);
        await using var provider = services.BuildServiceProvider();
        try
        {
            if (provider.GetRequiredService<IMailBackend>() is not IMessageRetention store)
            {
                await error.WriteLineAsync($"{name}: the store '{options.EffectiveStore}' keeps no deleted messages");
                return 1;
            }
            await act(store, options);
            return 0;
        }
        catch (MailStoreException ex) when (ex.Kind == MailStoreErrorKind.InUse)
        {
            await error.WriteLineAsync($"{name}: {ex.Message} Try again when the session has ended.");
            return ExTempFail;
        }
        catch (Exception ex) when (ex is MailStoreException or InvalidOperationException)
        {
            await error.WriteLineAsync($"{name}: {ex.Message}");
            return 1;
        }
    }
}
