using Microsoft.Extensions.Time.Testing;
using Restante.Storage.Maildir;

namespace Restante.Tests.Storage;

/// <summary>
/// New mail after everything known is appended to the listing in place (or, out of room, to a copy) and its
/// lookup table carried over (<see cref="MaildirListing.Grow"/>): the next listing must still know every name, old and new.
/// </summary>
[System.Runtime.Versioning.SupportedOSPlatform("linux")]
public class MaildirListingAppendTests
{
    [Fact]
    public async Task Messages_appended_over_several_logins_are_each_known_once_with_stable_uidls()
    {
        using var dirs = new TempMaildirs();
        for (var i = 0; i < MaildirIndex.MinimumEntries + 10; i++) dirs.Put("big", "new", $"{1_700_000_000 + i}.V801I{i:x}M{i}.mx1", "a\n");
        // An hour ahead: every folder looks settled, so only a changed new/ is listed.
        var store = new MaildirStore(Path.Combine(dirs.Root, "%u", "Maildir"), null, fsync: false, new FakeTimeProvider(DateTimeOffset.UtcNow.AddHours(1)));
        var expected = (await UidsAsync(store)).ToList();

        // Each login lists new/ against the previous login's listing, whose lookup table was carried over from the one before.
        for (var round = 0; round < 4; round++)
        {
            var name = $"{1_700_100_000 + round}.V801Ieeee{round}.mx1";
            dirs.Put("big", "new", name, "dropped\n");
            expected.Add(name);
            Assert.Equal(expected, await UidsAsync(store));
        }
        // Our own delivery (named by the time now, after every drop above), recorded and appended the same way, then
        // someone else's drop again.
        var uid = await store.DeliverAsync("big", new MemoryStream("Subject: ours\n\nhello\n"u8.ToArray()), default);
        expected.Add(uid);
        Assert.Equal(expected, await UidsAsync(store));
        dirs.Put("big", "new", "1900000000.V801Iffff.mx1", "dropped\n");
        expected.Add("1900000000.V801Iffff.mx1");
        Assert.Equal(expected, await UidsAsync(store));
    }

    private static async Task<List<string>> UidsAsync(MaildirStore store)
    {
        await using var drop = await store.OpenAsync("big", default);
        return drop.Messages.Select(m => m.Uid).ToList();
    }
}
