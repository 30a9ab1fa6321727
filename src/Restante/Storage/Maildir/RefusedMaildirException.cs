namespace Restante.Storage.Maildir;

/// <summary>
/// The Maildir (or one of its folders, or its lock file) is a symlink or not what it should be.
/// The user can write there, so this is taken as an attempt to make us read or write elsewhere:
/// the mailbox is refused until an administrator looks, rather than followed.
/// </summary>
internal sealed class RefusedMaildirException(string maildir, string reason)
    : Exception($"Refusing {maildir}: {reason}.")
{
    public string Maildir { get; } = maildir;

    public string Reason { get; } = reason;
}
