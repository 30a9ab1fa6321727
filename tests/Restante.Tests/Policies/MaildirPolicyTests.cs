using Microsoft.Extensions.Time.Testing;
using Restante.Pop3;
using Restante.Tests.Infrastructure;

namespace Restante.Tests.Policies;

/// <summary>The mailbox policies over Maildir: state in restante-policy, retained mail in restante-retained/.</summary>
public sealed class MaildirPolicyTests : MailboxPolicyContract
{
    private protected override Task<TestServer> StartServerAsync(Action<Pop3Options> configure, int retentionDays = 0)
        => TestServer.StartAsync(configure, Time, data: Data, configureServer: o => o.Retention.Days = retentionDays);

    protected override string[] CliStoreArguments => [];

    private protected override Task<int> CountRetainedAsync(TestServer server)
    {
        var retained = Path.Combine(server.MaildirOf("alice"), "restante-retained");
        return Task.FromResult(Directory.Exists(retained) ? Directory.GetFiles(retained, "*", SearchOption.AllDirectories).Length : 0);
    }
}
