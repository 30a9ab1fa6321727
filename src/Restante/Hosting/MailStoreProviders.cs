using Microsoft.Extensions.Logging;
using Restante.Storage;
using Restante.Storage.InMemory;
using Restante.Storage.Maildir;

namespace Restante.Hosting;

/// <summary>The stores the library itself brings, and the one place a store name is turned into a store.</summary>
public static class MailStoreProviders
{
    public static IMailStoreProvider Maildir { get; } = new MaildirProvider();

    public static IMailStoreProvider Memory { get; } = new MemoryProvider();

    public static IMailStoreProvider Mbox { get; } = new MboxStoreProvider();

    public static IReadOnlyList<IMailStoreProvider> BuiltIn { get; } = [Maildir, Memory, Mbox];

    /// <summary>The store <paramref name="options"/> names, made by the matching provider.</summary>
    /// <exception cref="InvalidOperationException">No provider has that name (the message lists the known ones).</exception>
    public static IMailBackend Create(IEnumerable<IMailStoreProvider> providers, RestanteOptions options, ILoggerFactory loggerFactory)
        => Create(providers, options, loggerFactory, null);

    /// <param name="time">The clock the library's own stores date things by (retention); null: the system clock.</param>
    public static IMailBackend Create(IEnumerable<IMailStoreProvider> providers, RestanteOptions options, ILoggerFactory loggerFactory, TimeProvider? time)
    {
        ArgumentNullException.ThrowIfNull(options);
        var known = providers.ToList();
        var name = options.EffectiveStore;
        var provider = known.LastOrDefault(p => string.Equals(p.Name, name, StringComparison.OrdinalIgnoreCase))
            ?? throw new InvalidOperationException(
                $"Store: '{options.Store}' is not a known store; this program knows {string.Join(", ", known.Select(p => p.Name).Distinct())}.");
        return provider is IDatedStoreProvider dated ? dated.Create(options, loggerFactory, time) : provider.Create(options, loggerFactory);
    }

    /// <summary>A provider whose store dates things (retention) by a clock it is given: the library's own.</summary>
    private interface IDatedStoreProvider : IMailStoreProvider
    {
        /// <param name="time">Null: the system clock.</param>
        IMailBackend Create(RestanteOptions options, ILoggerFactory loggerFactory, TimeProvider? time);
    }

    private sealed class MaildirProvider : IDatedStoreProvider
    {
        public string Name => "maildir";

        public IMailBackend Create(RestanteOptions options, ILoggerFactory loggerFactory) => Create(options, loggerFactory, null);

        /// <summary>The Maildir store as configured, behind the UIDL guard; <paramref name="time"/> dates retention.</summary>
        public IMailBackend Create(RestanteOptions options, ILoggerFactory loggerFactory, TimeProvider? time)
        {
            var uidls = options.EffectiveUidlSource;
            // Refuses to start (InvalidOperationException) when UIDLs clients know would change.
            var guard = UidlGuard.Check(options.DataDirectory, uidls, options.AcceptUidlChange, loggerFactory.CreateLogger("Restante.Storage.UidlGuard"));
            return new MaildirStore(options.EffectiveMaildir, loggerFactory.CreateLogger<MaildirStore>(), options.Fsync, time ?? TimeProvider.System,
                retentionDays: options.Retention.Days, uidlSource: uidls, guard: guard);
        }
    }

    private sealed class MemoryProvider : IDatedStoreProvider
    {
        public string Name => "memory";

        public IMailBackend Create(RestanteOptions options, ILoggerFactory loggerFactory) => Create(options, loggerFactory, null);

        public IMailBackend Create(RestanteOptions options, ILoggerFactory loggerFactory, TimeProvider? time)
            => new InMemoryMailStore(options.Retention.Days, time);
    }
}
