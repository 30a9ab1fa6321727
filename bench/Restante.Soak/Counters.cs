namespace Restante.Soak;

internal sealed class Counters
{
    public long Sessions;
    public long Logins;
    public long BadPasswords;
    public long InUse;
    public long Retrieved;
    public long SizeMismatches;
    public long QuitsConfirmed;
    public long QuitsInDoubt;
    public long Rsets;
    public long AbruptDisconnects;
    public long MidRetrDisconnects;
    public long Deliveries;
    public long DeliveriesInDoubt;
    public long AbortedDeliveries;
    public long UnexpectedReplies;
    public long ConnectionErrors;
}
