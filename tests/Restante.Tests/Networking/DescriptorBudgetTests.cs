using Restante.Networking;
using Restante.Tests.Infrastructure;

namespace Restante.Tests.Networking;

/// <summary>
/// The connection limits are fitted to RLIMIT_NOFILE with <see cref="FileDescriptorLimit.Needed"/>: if a session
/// holds more than it counts, the limits admit sessions that then fail with EMFILE (seen: 3,300 idle sessions under
/// a limit of 20,000 that was thought to allow 9,800, then "Out of memory." from the runtime).
/// </summary>
public class DescriptorBudgetTests
{
    [SkippableFact]
    public async Task An_idle_maildir_session_holds_exactly_the_descriptors_the_budget_counts()
    {
        Skip.IfNot(OperatingSystem.IsLinux(), "counts descriptors in /proc/self/fd (Linux only)");
        await using var server = await TestServer.StartAsync();
        server.AddUser("alice", "secret");
        server.Deliver("alice", "Subject: x\n\nx\n");
        server.Deliver("alice", "Subject: y\n\ny\n");
        var maildir = Path.GetFullPath(server.MaildirOf("alice"));
        await using var c = await server.LoginAsync("alice", "secret");
        await c.SendAsync("NOOP");
        await c.ExpectAsync("+OK");

        // The server runs in this process: what points into alice's Maildir is her session's (the socket is the +1).
        var held = DescriptorsInto(maildir);
        Assert.True(held.Count + 1 == FileDescriptorLimit.PerPop3Session,
            $"an idle session holds {held.Count} Maildir descriptors + its socket, the budget counts {FileDescriptorLimit.PerPop3Session}: {string.Join(", ", held)}");
        Assert.Equal([maildir], held);   // the root, which also carries the lock

        // After commands that open folders and messages, the session is back to the same.
        await c.SendAsync("RETR 1");
        await c.ExpectAsync("+OK");
        await c.ReadMultiLineAsync();
        await c.SendAsync("DELE 2");
        await c.ExpectAsync("+OK");
        await c.SendAsync("NOOP");
        await c.ExpectAsync("+OK");
        Assert.Equal([maildir], DescriptorsInto(maildir));
    }

    private static List<string> DescriptorsInto(string maildir) =>
        // Entries, not GetFiles: a descriptor of a directory is a link to a directory, which GetFiles leaves out.
        Directory.GetFileSystemEntries("/proc/self/fd").Select(fd =>
        {
            try
            {
                return new FileInfo(fd).LinkTarget;
            }
            catch (IOException)
            {
                return null;   // closed while we looked
            }
        }).Where(target => target is not null && (target == maildir || target.StartsWith(maildir + "/", StringComparison.Ordinal))).Select(t => t!).ToList();
}
