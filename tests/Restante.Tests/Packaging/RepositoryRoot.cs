namespace Restante.Tests.Packaging;

/// <summary>The checkout the tests were built from, and the configuration they were built in, for tests that pack or read packaging/.</summary>
internal static class RepositoryRoot
{
    public static string Path { get; } = Find();

    /// <summary>"Release" or "Debug": the tests' own output folder says which build the projects have.</summary>
    public static string Configuration { get; } =
        AppContext.BaseDirectory.Contains($"{System.IO.Path.DirectorySeparatorChar}Release{System.IO.Path.DirectorySeparatorChar}", StringComparison.Ordinal)
            ? "Release"
            : "Debug";

    private static string Find()
    {
        for (var directory = new DirectoryInfo(AppContext.BaseDirectory); directory is not null; directory = directory.Parent)
        {
            if (File.Exists(System.IO.Path.Combine(directory.FullName, "Restante.slnx")))
                return directory.FullName;
        }
        throw new InvalidOperationException($"No Restante.slnx above {AppContext.BaseDirectory}");
    }
}
