namespace Restante.Storage.Maildir;

/// <summary>The two Maildir subdirectories that hold delivered messages.</summary>
internal enum MaildirFolder : byte
{
    New,
    Cur,
}
