using Microsoft.Extensions.Logging;
namespace Restante.Storage.Maildir;
// TEMPORARY STUB — replaced by the storage branch.
public sealed class MaildirStore(string pathTemplate, ILogger<MaildirStore>? logger = null, bool fsync = true) : IMailStore, IMessageDelivery
{
    public ValueTask<IMaildrop> OpenAsync(string user, CancellationToken cancellationToken) => throw new NotImplementedException(pathTemplate + logger + fsync);
    public ValueTask<string> DeliverAsync(string user, Stream message, CancellationToken cancellationToken) => throw new NotImplementedException();
}
