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
    public async Task A_logged_in_maildir_session_holds_no_more_descriptors_than_the_budget_counts()
    {
        Skip.IfNot(OperatingSystem.IsLinux(), "counts descriptors in /proc/self/fd (Linux only)");
        await using var server = await TestServer.StartAsync();
        server.AddUser("alice", "secret");
        server.Deliver("alice", "Subject: x\n\nx\n");
        await using var c = await server.LoginAsync("alice", "secret");
        await c.SendAsync("NOOP");
        await c.ExpectAsync("+OK");

        // The server runs in this process: count what points into alice's Maildir, plus the session's socket.
        var maildir = Path.GetFullPath(server.MaildirOf("alice"));
        // Entries, not GetFiles: a descriptor of a directory is a link to a directory, which GetFiles leaves out.
        var held = Directory.GetFileSystemEntries("/proc/self/fd").Select(fd =>
        {
            try
            {
                return new FileInfo(fd).LinkTarget;
            }
            catch (IOException)
            {
                return null;   // closed while we looked
            }
        }).Where(target => target is not null && (target == maildir || target.StartsWith(maildir + "/", StringComparison.Ordinal))).ToList();
        var intoMaildir = held.Count;
        Assert.True(intoMaildir > 0, "found none of the session's Maildir descriptors: the count looks in the wrong place");
        // +1 for the socket, +1 for a message a RETR holds open.
        Assert.True(intoMaildir + 2 <= FileDescriptorLimit.PerPop3Session,
            $"{intoMaildir} Maildir descriptors + socket + message > {FileDescriptorLimit.PerPop3Session}: {string.Join(", ", held)}");
    }
}
