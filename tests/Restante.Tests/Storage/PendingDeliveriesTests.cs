using Microsoft.Extensions.Time.Testing;

using static Restante.Tests.Storage.BigMaildir;

namespace Restante.Tests.Storage;

/// <summary>
/// Our own deliveries into a large Maildir wait in the index (MaildirIndex.RecordDelivery) until the next login adds them
/// to the listing: they take memory meanwhile, which the index's budget must count (it did not), and the login must add
/// them in the order they were made (they are kept newest first, so recording one copies nothing).
/// </summary>
[System.Runtime.Versioning.SupportedOSPlatform("linux")]
public sealed class PendingDeliveriesTests
{
    private const int Deliveries = 40;

    [Fact]
    public async Task Deliveries_waiting_for_the_next_login_count_in_the_index_budget_and_join_the_listing_in_order()
    {
        var time = new FakeTimeProvider(DateTimeOffset.UtcNow.AddHours(1));
        using var dirs = Unsized();
        var store = StoreOf(dirs, time);
        var (before, _) = await ListingAsync(store);
        var listed = store.Index.Bytes;

        var delivered = new Dictionary<string, long>();
        long names = 0;
        for (var i = 0; i < Deliveries; i++)
        {
            var uid = await store.DeliverAsync("big", new MemoryStream(System.Text.Encoding.ASCII.GetBytes($"Subject: {i}\n\n{new string('x', i)}\n")), default);
            delivered[uid] = $"Subject: {i}\r\n\r\n{new string('x', i)}\r\n".Length;
            // A file name holds at least the unique-id, as UTF-16 in a string.
            names += 2L * uid.Length;
            Assert.True(store.Index.Bytes >= listed + names, $"after {i + 1} deliveries the index counts {store.Index.Bytes - listed} bytes more, less than their names' {names}");
        }
        var waiting = store.Index.Bytes;

        var (after, sizes) = await ListingAsync(store);

        // In arrival order, as a server that never saw them lists them (names of the same second sort as ArrivalOrder says).
        Assert.Equal(await UidsAsync(StoreOf(dirs, time)), after);
        Assert.Equal(before, after.Take(before.Count));
        Assert.Equal(delivered.Keys.Order(), after.Skip(before.Count).Order());
        for (var i = before.Count; i < after.Count; i++) Assert.Equal(delivered[after[i]], sizes[i]);
        // Added to the listing: the waiting names are let go, and the budget says so.
        Assert.True(store.Index.Bytes <= waiting - names, $"{store.Index.Bytes} after the login, {waiting} before it");
    }
}
