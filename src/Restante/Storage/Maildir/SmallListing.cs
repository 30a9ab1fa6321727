using System.Runtime.CompilerServices;

namespace Restante.Storage.Maildir;

/// <summary>
/// How the index keeps the listing of a small mailbox (fewer than <see cref="MaildirIndex.MinimumEntries"/> messages):
/// in memory only, in buffers cut to what it holds. A listing is built with room for appends (a few KB of names, 64
/// records: <see cref="MaildirListing.WithRoom"/>), which pays for a huge mailbox that grows at every delivery but
/// would more than triple what a 20-message mailbox costs; an append to a cut listing copies its few records instead.
/// </summary>
internal static class SmallListing
{
    // What a kept small mailbox costs besides its buffers, measured (bench/NOTES-login.md, round six): the listing and
    // its claim, three array headers, the index's State with its stamps, the dictionary's node and the path string
    // (counted apart, by its length).
    private const int Overhead = 512;

    /// <summary><paramref name="listing"/> in buffers of exactly its size (the same object when it is empty).</summary>
    public static MaildirListing Cut(MaildirListing listing)
        => listing.Count == 0 ? MaildirListing.Empty : ListingCopy.Of(listing, sizedOnly: false, withRoom: false);

    /// <summary>
    /// What a listing made by <see cref="Cut"/> and kept under <paramref name="path"/> holds in memory: its names, its
    /// records, the lookup table a later listing builds (at most half full, as <see cref="MaildirListing.FindBase"/>
    /// makes it), the path and the fixed overhead.
    /// </summary>
    public static long Bytes(MaildirListing listing, string path)
    {
        var table = listing.Count == 0 ? 0 : (long)System.Numerics.BitOperations.RoundUpToPowerOf2((uint)listing.Count * 2) * sizeof(int);
        return listing.NamesLength + (long)listing.Count * Unsafe.SizeOf<MaildirListing.Record>() + table + 2L * path.Length + Overhead;
    }
}
