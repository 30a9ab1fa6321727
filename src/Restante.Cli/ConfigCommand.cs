using System.CommandLine;
using System.Text.RegularExpressions;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging.Abstractions;
using Restante.Hosting;
using Restante.Networking;

namespace Restante.Cli;

/// <summary>
/// <c>restante config check [--config FILE]</c>: reads the configuration as `serve` would (defaults, the
/// file, RESTANTE_* variables, options) and validates it without binding a port, opening a store or
/// creating a file. Exit 0: every effective value, each with where it came from. Exit 1: each problem
/// on stderr, naming its key.
/// </summary>
internal static partial class ConfigCommand
{
    /// <param name="data">The root command's recursive --data option.</param>
    public static Command Create(Option<string> data)
    {
        var config = new Option<FileInfo?>("--config") { Description = "JSON configuration file (the same as for serve)" };
        var store = ServeCommand.StoreOption();
        var postgres = ServeCommand.PostgresOption();
        var check = new Command("check", "Validate the configuration serve would use and print every effective value with its source; starts nothing");
        check.Options.Add(config);
        check.Options.Add(store);
        check.Options.Add(postgres);
        check.SetAction((parse, _) =>
        {
            var overrides = new Dictionary<string, string?>();
            if (parse.GetValue(data) is { } d) overrides["DataDirectory"] = d;
            ServeCommand.AddStoreOverrides(parse, store, postgres, overrides);
            var layers = new ServeConfiguration { ConfigFile = parse.GetValue(config), Overrides = overrides };
            return Task.FromResult(Check(layers, parse.InvocationConfiguration.Output, parse.InvocationConfiguration.Error));
        });
        var command = new Command("config", "Inspect the server configuration");
        command.Subcommands.Add(check);
        return command;
    }

    private static int Check(ServeConfiguration layers, TextWriter output, TextWriter error)
    {
        if (ConfigFile.IsMissing(layers.ConfigFile, error)) return 1;
        if (!layers.TryLoad(out var root, out var settings, out var unusable))
        {
            error.WriteLine($"Configuration error: {unusable}");
            return 1;
        }
        var problems = settings.Validate().Concat(ServeConfiguration.OtherProblems(root)).Concat(CheckProviders(settings.Server, root))
            .Concat(CheckCertificate(settings.Server)).ToList();
        if (problems.Count > 0)
        {
            foreach (var problem in problems) error.WriteLine($"Configuration error: {problem}");
            return 1;
        }

        var flattened = settings.Flatten();
        var rows = flattened.Select(s => (s.Key, s.Value, Source: layers.SourceOf(root, s.Key, s.IsList))).ToList();
        // Keys no options class binds (Logging:*, Postgres:*): shown as configured.
        var lists = flattened.Where(s => s.IsList).Select(s => s.Key + ":").ToList();
        var known = flattened.Select(s => s.Key).ToHashSet(StringComparer.OrdinalIgnoreCase);
        foreach (var (key, value) in root.AsEnumerable().Where(p => p.Value is not null).OrderBy(p => p.Key, StringComparer.Ordinal))
        {
            if (known.Contains(key) || lists.Any(l => key.StartsWith(l, StringComparison.OrdinalIgnoreCase))) continue;
            rows.Add((key, value!, layers.SourceOf(root, key, isList: false)));
        }
        var width = rows.Max(r => r.Key.Length);
        foreach (var (key, value, source) in rows)
            output.WriteLine($"{key.PadRight(width)} = {(value.Length == 0 ? "(empty)" : Redact(key, value))}  ({source})");
        output.WriteLine("Configuration is valid.");
        return 0;
    }

    /// <summary>The store and user directory must be ones this program has (the library's, PostgreSQL's).</summary>
    private static IEnumerable<string> CheckProviders(RestanteOptions options, IConfiguration configuration)
    {
        var services = new ServiceCollection().AddAllStores(configuration);
        using var provider = services.BuildServiceProvider();
        var stores = provider.GetServices<IMailStoreProvider>().Select(p => p.Name).Distinct(StringComparer.OrdinalIgnoreCase).ToList();
        if (!stores.Contains(options.EffectiveStore, StringComparer.OrdinalIgnoreCase))
            yield return $"Store: '{options.Store}' is not a known store; this program knows {string.Join(", ", stores)}.";
        var directories = provider.GetServices<IUserDirectoryProvider>().Select(p => p.Name).Distinct(StringComparer.OrdinalIgnoreCase).ToList();
        if (!directories.Contains(options.EffectiveUsers, StringComparer.OrdinalIgnoreCase))
            yield return $"Users: '{options.Users}' is not a known user directory; this program knows {string.Join(", ", directories)}.";
    }

    /// <summary>A configured certificate must load with its key; the development one is created by serve when missing.</summary>
    private static IEnumerable<string> CheckCertificate(RestanteOptions options)
    {
        if (!options.Tls || string.IsNullOrWhiteSpace(options.TlsCertificate)) yield break;
        string? problem = null;
        try
        {
            _ = new CertificateProvider(options.TlsCertificate, options.TlsKey, NullLogger.Instance);
        }
        catch (InvalidOperationException ex)
        {
            problem = ex.Message;
        }
        if (problem is not null) yield return problem;
    }

    /// <summary>A connection string's password stays out of the output (it may be pasted into a ticket).</summary>
    private static string Redact(string key, string value)
        => key.Contains("ConnectionString", StringComparison.OrdinalIgnoreCase) ? PasswordPart().Replace(value, "${name}=***") : value;

    [GeneratedRegex(@"(?<name>Password|Pwd)\s*=\s*[^;]*", RegexOptions.IgnoreCase)]
    private static partial Regex PasswordPart();
}
