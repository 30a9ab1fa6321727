using System.Diagnostics;

namespace Restante.Tests.Infrastructure;

/// <summary>A small size-limited tmpfs, the honest way to fill a disk in a test (needs root on Linux).</summary>
internal static class Tmpfs
{
    /// <summary>The reason a test reports as its skip when <see cref="TryMountAsync"/> fails.</summary>
    public const string CannotMount = "Cannot mount a tmpfs here (needs root on Linux), so there is no disk to fill.";

    public static async Task<bool> TryMountAsync(string path, string size = "1m")
        => OperatingSystem.IsLinux() && await RunAsync("mount", "-t", "tmpfs", "-o", $"size={size}", "tmpfs", path) == 0;

    public static Task UnmountAsync(string path) => RunAsync("umount", path);

    private static async Task<int> RunAsync(string program, params string[] arguments)
    {
        var start = new ProcessStartInfo(program) { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var argument in arguments) start.ArgumentList.Add(argument);
        try
        {
            using var process = Process.Start(start)!;
            await process.WaitForExitAsync();
            return process.ExitCode;
        }
        catch (System.ComponentModel.Win32Exception)
        {
            return -1;
        }
    }
}
