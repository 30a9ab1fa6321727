using Restante.Storage;
using Restante.Storage.InMemory;

namespace Restante.Tests.Storage;

public class InMemoryMailStoreTests
{
    [Fact]
    public async Task Follows_the_lock_snapshot_and_expunge_rules()
    {
        var store = new InMemoryMailStore();
        store.Add("u", "a\n"u8.ToArray());
        store.Add("u", "b\nc"u8.ToArray());
        await using (var drop = await store.OpenAsync("u", default))
        {
            Assert.Equal(new long[] { 3, 6 }, drop.Messages.Select(m => m.Size));
            var error = await Assert.ThrowsAsync<MailStoreException>(async () => await store.OpenAsync("u", default));
            Assert.Equal(MailStoreErrorKind.InUse, error.Kind);
            store.Add("u", "late\n"u8.ToArray());
            Assert.Equal(2, drop.Messages.Count);
            Assert.Equal(new ExpungeResult(1, 0), await drop.ExpungeAsync([0, 0], default));
        }
        await using var next = await store.OpenAsync("u", default);
        Assert.Equal(2, next.Messages.Count);
        Assert.Equal(["b\nc", "late\n"], store.MessagesOf("u").Select(b => System.Text.Encoding.ASCII.GetString(b)));
    }
}
