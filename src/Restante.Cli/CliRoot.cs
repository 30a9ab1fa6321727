using System.CommandLine;
using System.CommandLine.Help;

namespace Restante.Cli;

/// <summary>
/// The root command, named `restante` whatever the executable is called. A RootCommand takes its name from
/// the executable, which is `Restante.Cli` when installed as a .NET tool (the shim runs Restante.Cli.dll), so
/// `--help` said "Usage: Restante.Cli". A plain command with the help and version options a RootCommand
/// would add behaves the same, with the name the README uses.
/// </summary>
internal static class CliRoot
{
    public const string Name = "restante";

    public static Command Create(string description)
    {
        var root = new Command(Name, description);
        root.Options.Add(new HelpOption());
        root.Options.Add(new VersionOption());
        return root;
    }
}
