using Xunit;

namespace Restante.Testing.Xunit;

/// <summary>
/// A <see cref="Pop3TestServer"/> shared by the tests of one class (<c>IClassFixture&lt;Pop3ServerFixture&gt;</c>),
/// started before the first and disposed after the last. Override <see cref="Configure"/> to add users or pick the store.
/// </summary>
public class Pop3ServerFixture : IAsyncLifetime
{
    private Pop3TestServer? _server;

    /// <summary>The running server.</summary>
    /// <exception cref="InvalidOperationException">Read before xUnit started the fixture.</exception>
    public Pop3TestServer Server => _server ?? throw new InvalidOperationException("The fixture has not been started by xUnit yet.");

    /// <summary>Sets the server up; the default adds nothing (tests add users through <see cref="Pop3TestServer.AddUser"/>).</summary>
    protected virtual void Configure(Pop3TestServerOptions options)
    {
    }

    /// <summary>Starts the server (called by xUnit).</summary>
    public async Task InitializeAsync() => _server = await Pop3TestServer.StartAsync(Configure).ConfigureAwait(false);

    /// <summary>Stops the server and deletes its data (called by xUnit).</summary>
    public async Task DisposeAsync()
    {
        if (_server is { } server) await server.DisposeAsync().ConfigureAwait(false);
    }
}
