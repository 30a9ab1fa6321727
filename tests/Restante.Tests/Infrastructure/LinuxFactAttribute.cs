namespace Restante.Tests.Infrastructure;

/// <summary>A fact that needs Linux (ulimit, EMFILE, /proc); elsewhere the runner reports it skipped, with the reason.</summary>
public sealed class LinuxFactAttribute : FactAttribute
{
    public LinuxFactAttribute(string reason)
    {
        if (!OperatingSystem.IsLinux()) Skip = reason;
    }
}
