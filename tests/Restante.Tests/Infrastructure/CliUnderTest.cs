using System.Diagnostics;

namespace Restante.Tests.Infrastructure;

/// <summary>
/// Which `restante` the process tests run. By default `dotnet Restante.Cli.dll` of this build; when
/// RESTANTE_TEST_CLI names an executable (packaging/test-published.sh sets it to the Native AOT or
/// ReadyToRun one that packaging/publish.sh made), the same tests run that executable instead, which is
/// how a published binary is shown to have lost no feature.
/// </summary>
internal static class CliUnderTest
{
    public const string Variable = "RESTANTE_TEST_CLI";

    /// <summary>The published executable under test, or null for `dotnet Restante.Cli.dll`.</summary>
    public static string? Executable { get; } = Environment.GetEnvironmentVariable(Variable) is { Length: > 0 } path
        ? Path.GetFullPath(path)  // relative to where the tests start, which is their bin directory
        : null;

    /// <summary>
    /// Points a start that runs `dotnet Restante.Cli.dll …` (itself, or under env, runuser or a shell
    /// script's `dotnet "$@"`) at the executable under test. Unchanged when none is set.
    /// </summary>
    public static void Apply(ProcessStartInfo start)
    {
        if (Executable is not { } executable) return;
        if (!File.Exists(executable)) throw new FileNotFoundException($"{Variable} names {executable}, which does not exist", executable);
        var arguments = start.ArgumentList;
        var dll = arguments.IndexOf(ServerProcess.CliPath);
        if (dll < 0) return;
        if (dll == 0 && start.FileName == "dotnet")
        {
            start.FileName = executable;
            arguments.RemoveAt(0);
        }
        else if (dll > 0 && arguments[dll - 1] == "dotnet")
        {
            arguments[dll - 1] = executable;
            arguments.RemoveAt(dll);
        }
        else
        {
            // bash -c '… dotnet "$@" …' bash Restante.Cli.dll serve …: the script runs its arguments instead.
            arguments[dll] = executable;
            for (var i = 0; i < dll; i++) arguments[i] = arguments[i].Replace("dotnet \"$@\"", "\"$@\"", StringComparison.Ordinal);
        }
    }
}
