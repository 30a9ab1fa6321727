using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Restante.Hosting;
using Restante.Pop3;
using Restante.Storage;
using Restante.Storage.InMemory;
using Restante.Tests.Infrastructure;

namespace Restante.Tests.Hosting;

/// <summary>One store per server, chosen by configuration, used by POP3 and LMTP alike (STYLE §14).</summary>
public class StoreSelectionTests
{
    [Fact]
    public async Task Mail_delivered_over_lmtp_lands_in_the_configured_store_and_nowhere_else()
    {
        await using var server = await TestServer.StartAsync(configureServer: o => o.Store = "memory");
        server.AddUser("alice", "pw");
        Assert.IsType<InMemoryMailStore>(server.Server.Store);

        var (lmtp, _) = await Restante.Tests.Lmtp.Lmtp.GreetAsync(server);
        await using (lmtp)
        {
            await Restante.Tests.Lmtp.Lmtp.SendMessageAsync(lmtp, "s@example.org", Restante.Tests.Lmtp.Lmtp.Message, "alice@example.org");
            await lmtp.ExpectAsync("250 2.0.0");
        }

        Assert.False(Directory.Exists(server.MaildirOf("alice")), "LMTP fell back to a Maildir of its own");
        Assert.Single(((InMemoryMailStore)server.Server.Store).MessagesOf("alice"));
        await using var pop3 = await server.LoginAsync("alice", "pw");
        await pop3.SendAsync("STAT");
        await pop3.ExpectAsync("+OK 1 ");
    }

    [Fact]
    public void An_unknown_store_name_stops_the_server_with_the_known_names()
    {
        using var data = new TempDirectory();
        var options = new RestanteOptions { DataDirectory = data.Path, Store = "cassandra", Pop3 = ["127.0.0.1:0"] };
        var error = Assert.Throws<InvalidOperationException>(() => new Pop3Server(options, new Pop3Options()));
        Assert.Contains("'cassandra'", error.Message, StringComparison.Ordinal);
        Assert.Contains("maildir, memory", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void An_unknown_user_directory_stops_the_server_with_the_known_names()
    {
        using var data = new TempDirectory();
        var configuration = new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["DataDirectory"] = data.Path,
            ["Users"] = "ldap",
        }).Build();
        using var built = new ServiceCollection().AddLogging().AddRestanteStore(configuration).BuildServiceProvider();
        var error = Assert.Throws<InvalidOperationException>(() => built.GetRequiredService<Restante.Auth.IUserDirectory>());
        Assert.Contains("'ldap'", error.Message, StringComparison.Ordinal);
        Assert.Contains("passwd", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task AddRestante_takes_the_store_from_a_provider_registered_with_the_host()
    {
        using var data = new TempDirectory();
        var configuration = new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["DataDirectory"] = data.Path,
            ["Store"] = "Elsewhere",
            ["Pop3:0"] = "127.0.0.1:0",
        }).Build();
        var provider = new FixedProvider();
        var services = new ServiceCollection().AddLogging();
        services.AddSingleton<IMailStoreProvider>(provider);
        services.AddRestante(configuration);
        await using var built = services.BuildServiceProvider();

        var server = built.GetRequiredService<Pop3Server>();
        Assert.Same(provider.Store, server.Store);
        Assert.Same(provider.Store, built.GetRequiredService<IMailBackend>());
        using var spool = await CreateSpoolAsync(data.Path);
        await server.LocalDelivery.DeliverAsync(new Restante.Delivery.LocalRecipient("bob", "bob", 0),
            new Restante.Delivery.DeliveryEnvelope("", "Q1"), spool, CancellationToken.None);
        Assert.Single(provider.Store.MessagesOf("bob"));
    }

    [Theory]
    [InlineData("maildir")]
    [InlineData("memory")]
    public async Task A_built_in_store_dates_deletions_by_the_clock_the_server_was_given(string store)
    {
        using var data = new TempDirectory();
        var time = new Microsoft.Extensions.Time.Testing.FakeTimeProvider(new DateTimeOffset(2020, 1, 1, 0, 0, 0, TimeSpan.Zero));
        var options = new RestanteOptions { DataDirectory = data.Path, Store = store };
        options.Retention.Days = 1;
        var backend = MailStoreProviders.Create(MailStoreProviders.BuiltIn, options, Microsoft.Extensions.Logging.Abstractions.NullLoggerFactory.Instance, time);
        try
        {
            await backend.DeliverAsync("alice", new MemoryStream("Subject: x\r\n\r\nx\r\n"u8.ToArray()), CancellationToken.None);
            await using (var drop = await backend.OpenAsync("alice", CancellationToken.None))
                await drop.ExpungeAsync([0], CancellationToken.None);
            // Deleted on the given clock's 2020-01-01, so before a cutoff two days later (Maildir keeps whole days);
            // dated by the system clock it would not be.
            var retention = Assert.IsAssignableFrom<IMessageRetention>(backend);
            Assert.Equal(1, await retention.PurgeAsync(time.GetUtcNow().AddDays(2), CancellationToken.None));
        }
        finally
        {
            if (backend is IAsyncDisposable disposable) await disposable.DisposeAsync();
        }
    }

    private static async Task<Restante.Delivery.MessageSpool> CreateSpoolAsync(string directory)
    {
        var spool = Restante.Delivery.MessageSpool.Create(directory);
        await spool.AppendAsync("Subject: x\r\n\r\nx\r\n"u8.ToArray(), CancellationToken.None);
        await spool.FlushAsync(CancellationToken.None);
        return spool;
    }

    private sealed class FixedProvider : IMailStoreProvider
    {
        public InMemoryMailStore Store { get; } = new();

        public string Name => "elsewhere";

        public IMailBackend Create(RestanteOptions options, ILoggerFactory loggerFactory) => Store;
    }
}
