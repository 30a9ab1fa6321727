using System.Diagnostics;

namespace Restante.Tests.Packaging;

/// <summary>Runs a program to completion and keeps what it printed, for the packaging tests (dotnet pack, tool install, systemd-analyze, docker).</summary>
internal sealed record ExternalCommand(int ExitCode, string Output, string Error)
{
    public static async Task<ExternalCommand> RunAsync(string program, IEnumerable<string> arguments, string? standardInput = null,
        string? workingDirectory = null, TimeSpan? timeout = null)
    {
        var start = new ProcessStartInfo(program)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            RedirectStandardInput = true,
            WorkingDirectory = workingDirectory ?? Environment.CurrentDirectory,
        };
        foreach (var argument in arguments) start.ArgumentList.Add(argument);
        start.Environment["DOTNET_CLI_TELEMETRY_OPTOUT"] = "1";
        start.Environment["DOTNET_NOLOGO"] = "1";
        using var process = Process.Start(start)!;
        var output = process.StandardOutput.ReadToEndAsync();
        var error = process.StandardError.ReadToEndAsync();
        if (standardInput is not null) await process.StandardInput.WriteAsync(standardInput);
        process.StandardInput.Close();
        // Generous: a pack or a tool install on a loaded 2-core machine; the limit only stops a hang.
        using var limit = new CancellationTokenSource(timeout ?? TimeSpan.FromMinutes(3));
        try
        {
            await process.WaitForExitAsync(limit.Token);
        }
        catch (OperationCanceledException)
        {
            process.Kill(entireProcessTree: true);
            throw new TimeoutException($"{program} {string.Join(' ', start.ArgumentList)} did not finish");
        }
        return new ExternalCommand(process.ExitCode, await output, await error);
    }

    public override string ToString() => $"exit {ExitCode}\n{Output}\n{Error}";
}
