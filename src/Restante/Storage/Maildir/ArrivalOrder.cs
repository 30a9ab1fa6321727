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

    /// <summary>The same order for two base names as UTF-8 bytes (the compact listing's form).</summary>
    public static int Compare(ReadOnlySpan<byte> xBase, ReadOnlySpan<byte> yBase)
    {
        var xHasTime = MaildirName.TryGetTime(xBase, out var xSeconds);
        var yHasTime = MaildirName.TryGetTime(yBase, out var ySeconds);
        if (xHasTime != yHasTime) return xHasTime ? -1 : 1;
        var byTime = xSeconds.CompareTo(ySeconds);
        return byTime != 0 ? byTime : CompareBases(xBase, yBase);
    }

    /// <summary>
    /// Ordinal order of the names' UTF-16 code units, computed on their UTF-8 bytes. Byte order is
    /// code point order, which differs from UTF-16 order only between U+E000–U+FFFF (lead byte
    /// 0xEE/0xEF) and supplementary characters (0xF0–0xF4): only there are the strings compared.
    /// </summary>
    public static int CompareBases(ReadOnlySpan<byte> x, ReadOnlySpan<byte> y)
    {
        var common = x.CommonPrefixLength(y);
        if (common == x.Length || common == y.Length) return x.Length.CompareTo(y.Length);
        if (x[common] >= 0xEE && y[common] >= 0xEE)
            return string.CompareOrdinal(System.Text.Encoding.UTF8.GetString(x), System.Text.Encoding.UTF8.GetString(y));
        return x[common].CompareTo(y[common]);
    }

    private static int Compare(bool xHasTime, long xSeconds, ReadOnlySpan<char> xBase, bool yHasTime, long ySeconds, ReadOnlySpan<char> yBase)
    {
        if (xHasTime != yHasTime) return xHasTime ? -1 : 1;
        var byTime = xSeconds.CompareTo(ySeconds);
        // Span comparison of char is ordinal, code unit by code unit, like string.CompareOrdinal.
        return byTime != 0 ? byTime : xBase.SequenceCompareTo(yBase);
    }
}
