namespace Restante.Storage;

public readonly record struct ExpungeResult(int Removed, int Failed)
{
    public bool Complete => Failed == 0;
}
