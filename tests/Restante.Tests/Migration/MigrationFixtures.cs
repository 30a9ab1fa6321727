using Restante.Tests.Infrastructure;

namespace Restante.Tests.Migration;

/// <summary>The checked-in Maildirs and the POP3 lines a real Dovecot 2.3 served for them (Fixtures/make-dovecot-fixtures.sh).</summary>
internal static class MigrationFixtures
{
    public static string Root => Path.Combine(AppContext.BaseDirectory, "Migration", "Fixtures");

    /// <summary>Copies a fixture Maildir to <paramref name="target"/>, with the tmp/ and new/ that git cannot keep empty.</summary>
    public static void CopyMaildir(string scenario, string target)
    {
        var source = Path.Combine(Root, scenario, "Maildir");
        foreach (var sub in new[] { "tmp", "new", "cur" }) Directory.CreateDirectory(Path.Combine(target, sub));
        foreach (var file in Directory.GetFiles(source, "*", SearchOption.AllDirectories))
        {
            var copy = Path.Combine(target, Path.GetRelativePath(source, file));
            Directory.CreateDirectory(Path.GetDirectoryName(copy)!);
            File.Copy(file, copy);
        }
    }

    /// <summary>The "n uidl" lines and "n size" lines of a served-*.txt file.</summary>
    public static (List<string> Uidl, List<string> List) Served(string scenario, string name)
    {
        var uidl = new List<string>();
        var list = new List<string>();
        var current = uidl;
        foreach (var line in File.ReadAllLines(Path.Combine(Root, scenario, $"served-{name}.txt")))
        {
            if (line == "# UIDL") current = uidl;
            else if (line == "# LIST") current = list;
            else if (line.Length > 0) current.Add(line);
        }
        return (uidl, list);
    }

    /// <summary>Logs in and returns what UIDL and LIST answer, as "n value" lines.</summary>
    public static async Task<(List<string> Uidl, List<string> List)> FetchAsync(TestServer server, string user, string password)
    {
        await using var c = await server.LoginAsync(user, password);
        await c.SendAsync("UIDL");
        await c.ExpectAsync("+OK");
        var uidl = (await c.ReadMultiLineAsync()).ToList();
        await c.SendAsync("LIST");
        await c.ExpectAsync("+OK");
        var list = (await c.ReadMultiLineAsync()).ToList();
        await c.SendAsync("QUIT");
        await c.ExpectAsync("+OK");
        return (uidl, list);
    }
}
