namespace Restante.Storage.Maildir;

/// <summary>
/// Arrival order: the delivery time that starts a Maildir name, compared as a number (so
/// "999..." sorts before "1000..."), then the base name, ordinal. Names without a leading time
/// go last. Only the base takes part, so flags added by another client never reorder messages.
/// The snapshot sorts by a faster route (<see cref="Snapshot"/>) that must agree with this.
/// </summary>
internal static class ArrivalOrder
{
    public static int Compare(in MaildirEntry x, in MaildirEntry y) =>
        Compare(x.HasTime, x.Seconds, x.BaseName, y.HasTime, y.Seconds, y.BaseName);

    /// <summary>Where an entry stands relative to a base name read from the size index.</summary>
    public static int Compare(in MaildirEntry entry, ReadOnlySpan<char> baseName)
    {
        var hasTime = MaildirName.TryGetTime(baseName, out var seconds);
        return Compare(entry.HasTime, entry.Seconds, entry.BaseName, hasTime, seconds, baseName);
    }

    private static int Compare(bool xHasTime, long xSeconds, ReadOnlySpan<char> xBase, bool yHasTime, long ySeconds, ReadOnlySpan<char> yBase)
    {
        if (xHasTime != yHasTime) return xHasTime ? -1 : 1;
        var byTime = xSeconds.CompareTo(ySeconds);
        // Span comparison of char is ordinal, code unit by code unit, like string.CompareOrdinal.
        return byTime != 0 ? byTime : xBase.SequenceCompareTo(yBase);
    }
}
