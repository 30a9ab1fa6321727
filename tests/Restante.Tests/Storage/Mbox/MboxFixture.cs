using System.Text;
using Restante.Storage;
using Restante.Storage.Mbox;
using Restante.Tests.Infrastructure;

namespace Restante.Tests.Storage.Mbox;

/// <summary>A spool directory and a state directory in a temporary directory, and a store on them.</summary>
internal sealed class MboxFixture : IDisposable
{
    private readonly TempDirectory _root = new();

    public MboxFixture()
    {
        Directory.CreateDirectory(SpoolDirectory);
    }

    public string SpoolDirectory => Path.Combine(_root.Path, "spool");

    public string StateDirectory => Path.Combine(_root.Path, "state");

    public string SpoolOf(string user) => Path.Combine(SpoolDirectory, user);

    public MboxStore CreateStore(MboxUidlSource uidl = MboxUidlSource.SideFile, MboxVariant variant = MboxVariant.Mboxrd, long maxSpoolSize = 1L << 30)
        => new(Path.Combine(SpoolDirectory, "%u"), StateDirectory, uidl, variant, dotlock: true, maxSpoolSize, fsync: false);

    /// <summary>An mbox message as Postfix local(8) writes it: From line, message, empty line.</summary>
    public static string Entry(string message, string sender = "sender@example.org", string date = "Thu Nov 26 10:00:00 2026")
        => $"From {sender} {date}\n{message}\n";

    public void WriteSpool(string user, string content) => File.WriteAllBytes(SpoolOf(user), Encoding.Latin1.GetBytes(content));

    public void AppendSpool(string user, string content)
    {
        using var file = new FileStream(SpoolOf(user), FileMode.Append);
        file.Write(Encoding.Latin1.GetBytes(content));
    }

    public string ReadSpool(string user) => Encoding.Latin1.GetString(File.ReadAllBytes(SpoolOf(user)));

    public static async Task<string> ReadAsync(IMaildrop drop, int index)
    {
        await using var stream = await drop.OpenMessageAsync(index, CancellationToken.None);
        using var copy = new MemoryStream();
        await stream.CopyToAsync(copy);
        return Encoding.Latin1.GetString(copy.ToArray());
    }

    public void Dispose() => _root.Dispose();
}
