using Restante.Tests.Infrastructure;

namespace Restante.Tests.Migration;

/// <summary>
/// Maildirs as a real Dovecot 2.3 left them, with its dovecot-uidlist, and the UIDL lines it served
/// for them: Restante configured with UidlSource=dovecot and the same pop3_uidl_format serves
/// exactly those lines, so no client that leaves mail on the server downloads anything again.
/// </summary>
public class DovecotFixtureTests
{
    [Theory]
    [InlineData("dovecot-v3", "default", "%08Xu%08Xv")]
    [InlineData("dovecot-v3", "uid-dot-validity", "%v.%u")]
    [InlineData("dovecot-v3", "hex-upper-width", "%Xv-%4Xu")]
    [InlineData("dovecot-v3", "filename", "%f")]
    [InlineData("dovecot-v3", "guid", "%g")]
    [InlineData("dovecot-v3", "literal-text", "UID%u-%v")]
    [InlineData("dovecot-v3-pop3-field", "default", "%08Xu%08Xv")]
    public async Task Serves_exactly_what_Dovecot_served(string scenario, string name, string format)
    {
        await using var server = await StartOnFixtureAsync(scenario, format);
        var expected = MigrationFixtures.Served(scenario, name);

        var served = await MigrationFixtures.FetchAsync(server, "alice", "secret");

        Assert.Equal(expected.Uidl, served.Uidl);
        Assert.Equal(expected.List, served.List);
    }

    [Fact]
    public async Task A_version_1_list_serves_Dovecots_UIDLs_and_a_message_it_does_not_name_gets_the_native_one()
    {
        await using var server = await StartOnFixtureAsync("dovecot-v1", "%08Xu%08Xv");
        var expected = MigrationFixtures.Served("dovecot-v1", "default");

        var served = await MigrationFixtures.FetchAsync(server, "alice", "secret");

        // Messages 1-4 are in the version 1 list; Dovecot gave the fifth a new uid of its own,
        // which no client of the old server can have seen. Restante gives it its native UIDL.
        Assert.Equal(expected.Uidl.Take(4), served.Uidl.Take(4));
        Assert.Equal("5 1700000005.M104P200.fixture", served.Uidl[4]);
        Assert.Equal(expected.List, served.List);
    }

    [Fact]
    public async Task The_native_source_ignores_the_uidlist()
    {
        await using var server = await StartOnFixtureAsync("dovecot-v3", format: null);
        var served = await MigrationFixtures.FetchAsync(server, "alice", "secret");
        Assert.Equal("1 1700000001.M100P200.fixture", served.Uidl[0]);
    }

    [Fact]
    public async Task The_uidl_command_prints_what_Dovecot_served()
    {
        using var data = new TempDirectory();
        MigrationFixtures.CopyMaildir("dovecot-v3", Path.Combine(data.Path, "mail", "alice"));
        var (exit, output) = await Restante.Tests.Tls.Processes.RunAsync("dotnet", null, ServerProcess.CliPath, "migrate", "check-uidls", "alice", "--uidl-source", "dovecot", "--data", data.Path);
        Assert.True(exit == 0, output);
        Assert.Equal(MigrationFixtures.Served("dovecot-v3", "default").Uidl, output.Split('\n', StringSplitOptions.RemoveEmptyEntries));
    }

    [Fact]
    public async Task The_uidl_command_reads_the_maildir_the_maildir_option_names()
    {
        using var data = new TempDirectory();
        MigrationFixtures.CopyMaildir("dovecot-v3", Path.Combine(data.Path, "boxes", "alice"));
        var (exit, output) = await Restante.Tests.Tls.Processes.RunAsync("dotnet", null, ServerProcess.CliPath, "migrate", "check-uidls", "alice",
            "--uidl-source", "dovecot", "--data", data.Path, "--maildir", Path.Combine(data.Path, "boxes", "%u"));
        Assert.True(exit == 0, output);
        Assert.Equal(MigrationFixtures.Served("dovecot-v3", "default").Uidl, output.Split('\n', StringSplitOptions.RemoveEmptyEntries));
    }

    internal static async Task<TestServer> StartOnFixtureAsync(string scenario, string? format)
    {
        var server = await TestServer.StartAsync(configureServer: o =>
        {
            if (format is null) return;
            o.UidlSource = "dovecot";
            o.DovecotUidlFormat = format;
        });
        server.AddUser("alice", "secret");
        MigrationFixtures.CopyMaildir(scenario, server.MaildirOf("alice"));
        return server;
    }
}
