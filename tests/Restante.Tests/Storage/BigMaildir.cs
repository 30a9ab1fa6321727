using Restante.Storage.Maildir;

namespace Restante.Tests.Storage;

/// <summary>
/// The "big" user's Maildir of the index tests: large enough for the index to keep it (<see cref="MaildirIndex.MinimumEntries"/>),
/// a store over it on a clock the test controls, and what a login lists.
/// </summary>
internal static class BigMaildir
{
    public const int Count = MaildirIndex.MinimumEntries + 44;

    /// <summary>A mailbox as Postfix leaves it: no ,W= in the names, so a size comes from a file of ours or a read.</summary>
    public static TempMaildirs Unsized()
    {
        var dirs = new TempMaildirs();
        for (var i = 0; i < Count; i++)
            dirs.Put("big", "new", $"{1_700_000_000 + 2 * i}.V801I{i:x}M{i}.mx1", new string('a', i % 50) + "\n");
        return dirs;
    }

    public static MaildirStore StoreOf(TempMaildirs dirs, TimeProvider time) =>
        new(Path.Combine(dirs.Root, "%u", "Maildir"), null, fsync: false, time);

    public static async Task<List<string>> UidsAsync(MaildirStore store)
    {
        await using var drop = await store.OpenAsync("big", default);
        return drop.Messages.Select(m => m.Uid).ToList();
    }

    public static async Task<(List<string> Uids, List<long> Sizes)> ListingAsync(MaildirStore store)
    {
        await using var drop = await store.OpenAsync("big", default);
        return (drop.Messages.Select(m => m.Uid).ToList(), drop.Messages.Select(m => m.Size).ToList());
    }
}
