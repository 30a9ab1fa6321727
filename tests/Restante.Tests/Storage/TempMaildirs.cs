using System.Text;
using Restante.Storage;
using Restante.Storage.Maildir;

namespace Restante.Tests.Storage;

/// <summary>A fresh directory of Maildirs per test (<c>&lt;root&gt;/&lt;user&gt;/Maildir</c>), deleted afterwards.</summary>
internal sealed class TempMaildirs : IDisposable
{
    public TempMaildirs()
    {
        Root = Path.Combine(Path.GetTempPath(), "restante-maildir-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(Root);
        Store = new MaildirStore(Path.Combine(Root, "%u", "Maildir"));
    }

    public string Root { get; }

    public MaildirStore Store { get; }

    public string MaildirOf(string user) => Path.Combine(Root, user, "Maildir");


    /// <summary>Writes a message file directly, as another delivery agent would; returns its path.</summary>
    public string Put(string user, string folder, string name, string content) => Put(user, folder, name, Encoding.UTF8.GetBytes(content));

    public string Put(string user, string folder, string name, byte[] content)
    {
        var directory = Path.Combine(MaildirOf(user), folder);
        foreach (var sub in new[] { "new", "cur", "tmp" }) Directory.CreateDirectory(Path.Combine(MaildirOf(user), sub));
        var path = Path.Combine(directory, name);
        File.WriteAllBytes(path, content);
        return path;
    }

    public async Task<IReadOnlyList<StoredMessage>> ListAsync(string user)
    {
        await using var drop = await Store.OpenAsync(user, CancellationToken.None);
        return drop.Messages.ToArray();
    }

    public static async Task<string> ReadAllAsync(IMaildrop drop, int index)
    {
        await using var stream = await drop.OpenMessageAsync(index, CancellationToken.None);
        using var reader = new StreamReader(stream, Encoding.UTF8);
        return await reader.ReadToEndAsync();
    }

    public void Dispose()
    {
        try
        {
            Directory.Delete(Root, recursive: true);
        }
        catch (IOException)
        {
            // A leftover temp directory must not fail the test that made it.
        }
    }
}
