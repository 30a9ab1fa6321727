using System.CommandLine;
using System.CommandLine.Parsing;
using Microsoft.Extensions.Configuration;
using Restante.Hosting;

namespace Restante.Cli;

/// <summary>
/// The configuration the commands beside `serve` read (deliver, restore, purge, the control commands): the same
/// layers as serve (<see cref="ServeConfiguration"/>: defaults, the --config file, RESTANTE_* variables, then the
/// command's own options, later winning), so a setting in the file means the same to every command. A file that is
/// missing is the line every command gives (<see cref="ConfigFile"/>); one that does not parse, and a value that does
/// not bind or validate, is one line on stderr ("restante deliver: configuration error: …"), never an exception.
/// </summary>
internal static class CommandConfiguration
{
    /// <summary>The command as typed, to start its messages with: "restante purge", "restante throttle list".</summary>
    public static string NameOf(ParseResult parse)
    {
        var names = new List<string>();
        for (var result = parse.CommandResult; result is not null; result = result.Parent as CommandResult) names.Insert(0, result.Command.Name);
        return string.Join(' ', names);
    }

    /// <summary>Every layer, read; null when the file is missing or broken (said on <paramref name="error"/>).</summary>
    /// <param name="command">The command as the user typed it ("restante deliver"), to start each message.</param>
    /// <param name="overrides">The command's options as configuration keys (the top layer).</param>
    public static async Task<IConfigurationRoot?> BuildAsync(string command, FileInfo? file, Dictionary<string, string?> overrides, TextWriter error)
    {
        if (ConfigFile.IsMissing(file, error)) return null;
        try
        {
            return new ServeConfiguration { ConfigFile = file, Overrides = overrides }.Build();
        }
        catch (Exception ex) when (ServeConfiguration.IsUnusableFile(ex))
        {
            await error.WriteLineAsync($"{command}: configuration error: {ServeConfiguration.Describe(ex)}");
            return null;
        }
    }

    /// <summary>
    /// Every layer, read, bound and validated exactly as serve and config check do (<see cref="ServeConfiguration.TryLoad"/>:
    /// every section serve binds, Metrics and the log levels included; then <see cref="RestanteSettings.Validate"/> and
    /// <see cref="ServeConfiguration.OtherProblems"/>), so a
    /// file serve would refuse is refused here too, with the same words; null when that fails (every problem said on
    /// <paramref name="error"/>). The commands need only the server options, but binding less would let `restante
    /// deliver` run on a file the server it delivers for cannot start with.
    /// </summary>
    public static async Task<(IConfigurationRoot Root, RestanteOptions Options)?> LoadAsync(string command, FileInfo? file,
        Dictionary<string, string?> overrides, TextWriter error)
    {
        if (ConfigFile.IsMissing(file, error)) return null;
        if (!new ServeConfiguration { ConfigFile = file, Overrides = overrides }.TryLoad(out var root, out var settings, out var unusable))
        {
            await error.WriteLineAsync($"{command}: configuration error: {unusable}");
            return null;
        }
        var problems = settings.Validate().Concat(ServeConfiguration.OtherProblems(root)).ToList();
        foreach (var problem in problems) await error.WriteLineAsync($"{command}: configuration error: {problem}");
        return problems.Count == 0 ? (root, settings.Server) : null;
    }
}
