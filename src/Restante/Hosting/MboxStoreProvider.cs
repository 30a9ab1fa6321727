using Microsoft.Extensions.Logging;
using Restante.Storage;
using Restante.Storage.Mbox;

namespace Restante.Hosting;

/// <summary><c>Store: mbox</c>: spools such as /var/mail/%u, configured by the <c>Mbox</c> section.</summary>
internal sealed class MboxStoreProvider : IMailStoreProvider
{
    public string Name => "mbox";

    public IMailBackend Create(RestanteOptions options, ILoggerFactory loggerFactory)
    {
        var mbox = options.Mbox;
        var errors = mbox.Validate().ToList();
        if (errors.Count > 0) throw new InvalidOperationException(string.Join(" ", errors));
        MboxOptions.TryParseUidl(mbox.Uidl, out var uidl);
        MboxOptions.TryParseVariant(mbox.Variant, out var variant);
        var data = Path.GetFullPath(options.DataDirectory);
        var spool = string.IsNullOrWhiteSpace(mbox.Spool) ? Path.Combine(data, "spool-mbox", "%u") : mbox.Spool;
        var state = string.IsNullOrWhiteSpace(mbox.StateDirectory) ? Path.Combine(data, "mbox") : mbox.StateDirectory;
        return new MboxStore(spool, state, uidl, variant, mbox.Dotlock, mbox.MaxSpoolSize, loggerFactory.CreateLogger<MboxStore>(), options.Fsync);
    }
}
