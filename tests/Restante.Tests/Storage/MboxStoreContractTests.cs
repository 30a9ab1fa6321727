using System.Text;
using Restante.Protocol;
using Restante.Storage;
using Restante.Storage.Mbox;

namespace Restante.Tests.Storage;

public sealed class MboxStoreContractTests : MailStoreContract
{
    private readonly string _root = Path.Combine(Path.GetTempPath(), "restante-mbox-contract-" + Guid.NewGuid().ToString("N"));

    protected override Task<IMailBackend> CreateStoreAsync()
        => Task.FromResult<IMailBackend>(new MboxStore(Path.Combine(_root, "spool", "%u"), Path.Combine(_root, "state"), fsync: false));

    protected override Task CleanUpAsync()
    {
        if (Directory.Exists(_root)) Directory.Delete(_root, recursive: true);
        return Task.CompletedTask;
    }

    [ContractFact(Skip = "The mbox store keeps no delivery id: a spool holds messages and a From line, nothing records who asked for one.")]
    public override Task A_delivery_id_makes_a_retried_delivery_a_no_op() => Task.CompletedTask;

    // mbox keeps lines (RFC 4155 §2): a last line without a line end is stored with one, so it comes
    // back with one. POP3 sends the same bytes either way (RETR ends an open line before ".").
    [ContractFact]
    public override async Task Sizes_are_the_octets_sent_with_crlf_and_the_bytes_come_back_as_stored()
    {
        var small = "From: a\nSubject: bare LF\n\nline\r\nmixed\nend";
        var large = new StringBuilder("Subject: large\n\n");
        for (var i = 0; large.Length < 700_000; i++) large.Append('x', i % 997).Append(i % 3 == 0 ? "\r\n" : "\n");
        var contents = new[] { small, large.ToString(), "", "Subject: from\n\nFrom here\n>From there\n>>From afar\n" };
        foreach (var content in contents) await DeliverAsync("alice", content);
        await using var drop = await Store.OpenAsync("alice", CancellationToken.None);
        Assert.Equal(contents.Length, drop.Messages.Count);
        for (var i = 0; i < contents.Length; i++)
        {
            var stored = contents[i].Length == 0 || contents[i].EndsWith('\n') ? contents[i] : contents[i] + "\n";
            var bytes = Encoding.Latin1.GetBytes(stored);
            Assert.Equal(MessageOctets.Count(bytes), drop.Messages[i].Size);
            Assert.Equal(stored, Encoding.Latin1.GetString(await ReadAllAsync(drop, i)));
        }
    }

    // The spool is what the mail takes on disk: the messages, their From lines and separating lines.
    [ContractFact]
    public override async Task Usage_counts_the_stored_octets_and_drops_with_expunge()
    {
        var one = "Subject: 1\n\n" + new string('a', 1000) + "\n";
        var two = "Subject: 2\n\n" + new string('b', 3000) + "\n";
        await DeliverAsync("alice", one);
        await DeliverAsync("alice", two);
        await DeliverAsync("bob", two);
        var spool = Path.Combine(_root, "spool", "alice");
        var usage = await Store.GetUsageAsync("alice", CancellationToken.None);
        Assert.Equal(new FileInfo(spool).Length, usage);
        Assert.InRange(usage, one.Length + two.Length, one.Length + two.Length + 200);
        await using (var drop = await Store.OpenAsync("alice", CancellationToken.None))
            await drop.ExpungeAsync([1], CancellationToken.None);
        Assert.InRange(await Store.GetUsageAsync("alice", CancellationToken.None), one.Length, one.Length + 100);
    }
}
