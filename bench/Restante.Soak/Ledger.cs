namespace Restante.Soak;

/// <summary>
/// What the soak test knows for sure about one mailbox: messages whose delivery was acknowledged,
/// and messages whose deletion a QUIT confirmed. "In doubt" sets hold what was cut off before the
/// answer came, which may legitimately have gone either way.
/// </summary>
internal sealed class Ledger
{
    private readonly object _gate = new();

    public HashSet<string> Delivered { get; } = [];
    public HashSet<string> DeliveryInDoubt { get; } = [];
    public HashSet<string> Deleted { get; } = [];
    public HashSet<string> DeletionInDoubt { get; } = [];

    public void Record(Action<Ledger> change)
    {
        lock (_gate) change(this);
    }

    /// <summary>Compares what the mailbox holds now with what the ledger allows.</summary>
    public Verdict Check(IReadOnlyList<string> present)
    {
        lock (_gate)
        {
            var presentSet = present.ToHashSet();
            var lost = Delivered.Where(id => !presentSet.Contains(id) && !Deleted.Contains(id) && !DeletionInDoubt.Contains(id)).ToList();
            var resurrected = presentSet.Where(Deleted.Contains).ToList();
            var phantom = presentSet.Where(id => !Delivered.Contains(id) && !DeliveryInDoubt.Contains(id)).ToList();
            return new Verdict(lost, resurrected, phantom, present.Count - presentSet.Count);
        }
    }
}

internal sealed record Verdict(IReadOnlyList<string> Lost, IReadOnlyList<string> Resurrected, IReadOnlyList<string> Phantom, int Duplicates)
{
    public bool Clean => Lost.Count == 0 && Resurrected.Count == 0 && Phantom.Count == 0 && Duplicates == 0;
}
