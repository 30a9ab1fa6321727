namespace Restante.Storage.Maildir;

/// <summary>Entries of a listing left out because they are not regular files: counted, and one logged by name.</summary>
internal struct RefusedEntries
{
    public int Count;
    public string? Example;

    // The first by name, not by directory order, so the same Maildir logs the same line.
    private string? _exampleName;

    public void Add(VerifiedMaildir maildir, MaildirFolder folder, string name)
    {
        Count++;
        if (_exampleName is not null && string.CompareOrdinal(name, _exampleName) >= 0) return;
        _exampleName = name;
        Example = maildir.PathOf(folder, name == Posix.UndecodableName ? "(a name that is not UTF-8)" : name);
    }
}
