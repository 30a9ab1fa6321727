namespace Restante.Storage.Maildir;

/// <summary>
/// Our own deliveries into a large Maildir's new/ since it was last listed (see <see cref="MaildirIndex.RecordDelivery"/>),
/// newest first: each delivery is one node in front of the earlier ones, which it shares with the index's previous
/// state, so recording one copies nothing (a copied array made the 4,096th delivery copy 4,095 names), and the count
/// and the memory taken are carried along for the limit and the index's budget.
/// </summary>
internal sealed class PendingDelivery
{
    // The node and its name string besides the name's characters: object headers, the fields, the string's length and
    // terminator, rounded up (64-bit runtime).
    private const int Overhead = 96;

    public PendingDelivery(string name, long size, PendingDelivery? earlier)
    {
        Name = name;
        Size = size;
        Earlier = earlier;
        Count = (earlier?.Count ?? 0) + 1;
        Bytes = (earlier?.Bytes ?? 0) + Overhead + 2L * name.Length;
    }

    public string Name { get; }

    /// <summary>The octets we wrote (its name carries them as W=).</summary>
    public long Size { get; }

    public PendingDelivery? Earlier { get; }

    /// <summary>This delivery and every earlier one.</summary>
    public int Count { get; }

    /// <summary>What this delivery and the earlier ones hold in memory (an estimate).</summary>
    public long Bytes { get; }

    /// <summary>The deliveries in the order they were made.</summary>
    public PendingDelivery[] OldestFirst()
    {
        var all = new PendingDelivery[Count];
        var at = all.Length;
        for (var node = this; node is not null; node = node.Earlier) all[--at] = node;
        return all;
    }
}
