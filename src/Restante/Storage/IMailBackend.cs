namespace Restante.Storage;

/// <summary>
/// One mail store as the server uses it: POP3 opens maildrops from it, LMTP/SMTP and
/// <c>restante deliver</c> deliver into it, quota asks it for usage. A server holds exactly one,
/// so nothing can open one store and deliver into another.
/// </summary>
public interface IMailBackend : IMailStore, IMessageDelivery, IMailboxUsage
{
}
