namespace Restante.Storage;

/// <summary>A store failure the POP3 layer turns into a response code. The message is for the log, never the client.</summary>
public sealed class MailStoreException : Exception
{
    public MailStoreException(MailStoreErrorKind kind, string message, Exception? inner = null)
        : base(message, inner) => Kind = kind;

    public MailStoreErrorKind Kind { get; }
}
