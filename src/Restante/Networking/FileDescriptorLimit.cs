using System.Runtime.InteropServices;

namespace Restante.Networking;

/// <summary>
/// RLIMIT_NOFILE, the number of descriptors the process may hold: every connection, mailbox lock,
/// message file and spool file takes one, and when they run out accept(2) and open(2) fail with
/// EMFILE. Linux only (the server's target); elsewhere the limit is reported as unknown.
/// </summary>
internal static class FileDescriptorLimit
{
    private const int RlimitNofile = 7;   // <asm-generic/resource.h>, on every Linux architecture .NET runs on

    /// <summary>
    /// Raises the soft limit to the hard limit (the most an unprivileged process may take, often
    /// 524288 under systemd while shells start at 1024) and returns the limits now in force.
    /// </summary>
    public static (ulong Soft, ulong Hard)? Raise()
    {
        if (!OperatingSystem.IsLinux()) return null;
        if (GetRlimit(RlimitNofile, out var limit) != 0) return null;
        if (limit.Current < limit.Maximum)
        {
            var raised = limit with { Current = limit.Maximum };
            // A failure leaves the old soft limit, which is what is then reported.
            if (SetRlimit(RlimitNofile, in raised) == 0) limit = raised;
        }
        return (limit.Current, limit.Maximum);
    }

    /// <summary>Descriptors open now (the runtime holds over a hundred: assemblies, epoll, pipes, logs); null when unknown.</summary>
    public static int? InUse()
    {
        try
        {
            return OperatingSystem.IsLinux() ? Directory.GetFileSystemEntries("/proc/self/fd").Length : null;
        }
        catch (IOException)
        {
            return null;
        }
    }

    /// <summary>
    /// Kept free beyond the connections: the runtime needs descriptors to start a thread (a pipe
    /// each), and when it cannot the process aborts with "Out of memory." (seen under strace at
    /// EMFILE). Also the passwd file, certificate reloads, TLS, the delivery log.
    /// </summary>
    public const int Headroom = 256;

    /// <summary>
    /// What one logged-in Maildir POP3 session holds between commands: its socket and the Maildir's root directory,
    /// which also carries the mailbox lock (flock on the root itself: see MaildirLock). tmp/, new/ and cur/ are
    /// opened relative to the root when a command needs them and closed when it is done (see VerifiedMaildir).
    /// DescriptorBudgetTests counts an idle session's descriptors in /proc/self/fd against this figure, so it
    /// cannot drift from the code.
    /// </summary>
    public const int PerPop3Session = 2;

    /// <summary>
    /// What a POP3 command holds beyond the idle session, for as long as it runs: a RETR the message (opened in one
    /// openat2 from the root, or, when that is refused, through its folder, held for the open); a login tmp/, new/,
    /// cur/ and a message it sizes, minus the one already counted. Held under a slot of
    /// <see cref="CommandDescriptorGate"/>, so at most the busy share of sessions hold these at once.
    /// </summary>
    public const int PerPop3Command = 3;

    /// <summary>
    /// The share of POP3 sessions that may be inside a command at the same moment (1 in 4). Enforced by
    /// <see cref="CommandDescriptorGate"/>: RETR, TOP, the login and QUIT take a slot while they hold files, and wait
    /// briefly or are refused with [SYS/TEMP] when none is free, so sessions that start a RETR and stop reading cannot
    /// take the process to EMFILE. Counting every session as always busy (the old budget of 8) charged an idle session
    /// nearly three times this.
    /// </summary>
    public const int BusyShareDivisor = 4;

    /// <summary>
    /// A POP3 session over any other store: its socket, a lock or spool (mbox), a message being sent. The
    /// in-memory and PostgreSQL stores hold less; counting 3 keeps the limits safe for all of them.
    /// </summary>
    public const int PerPop3SessionWithoutMaildir = 3;

    /// <summary>
    /// An LMTP/SMTP session: its socket, its spool, and while it delivers into a Maildir the verified root, tmp/,
    /// new/ and cur/ and the file it writes. Counted for the Maildir store, the one that holds most.
    /// </summary>
    public const int PerDeliverySession = 7;

    /// <summary>Descriptors the connection limits may need at once.</summary>
    public static long Needed(ConnectionShares shares, int perPop3Session = PerPop3Session)
        => shares.Pop3 * (long)perPop3Session + BusyShare(shares) * PerPop3Command
            + (shares.Lmtp + (long)shares.Smtp) * PerDeliverySession;

    /// <summary>
    /// Slots for <see cref="CommandDescriptorGate"/>: what <paramref name="available"/> leaves after the fitted idle
    /// sessions and deliveries, in commands of <see cref="PerPop3Command"/>; never fewer than the busy share the
    /// budget counts, so a server whose limits fit exactly still gets the share <see cref="Needed"/> reserved.
    /// </summary>
    public static int CommandSlots(ConnectionShares fitted, long available, int perPop3Session = PerPop3Session)
    {
        var share = BusyShare(fitted);
        var left = (available - fitted.Pop3 * (long)perPop3Session - (fitted.Lmtp + (long)fitted.Smtp) * PerDeliverySession) / PerPop3Command;
        return (int)Math.Clamp(Math.Max(share, left), 1, int.MaxValue / 2);
    }

    /// <summary>The POP3 sessions that may run a descriptor-taking command at once: a <see cref="BusyShareDivisor"/>th, rounded up.</summary>
    private static long BusyShare(ConnectionShares shares) => (shares.Pop3 + (long)BusyShareDivisor - 1) / BusyShareDivisor;

    /// <summary>The limits as asked when they fit in <paramref name="available"/> descriptors, else all scaled down alike (at least 1 each).</summary>
    public static ConnectionShares Fit(ConnectionShares wanted, long available, int perPop3Session = PerPop3Session)
    {
        var needed = Needed(wanted, perPop3Session);
        if (needed <= available) return wanted;
        var factor = (double)Math.Max(available, 0) / needed;
        int Scale(int n) => n == 0 ? 0 : Math.Max(1, (int)(n * factor));
        return new ConnectionShares(Scale(wanted.Pop3), Scale(wanted.Lmtp), Scale(wanted.Smtp));
    }

    [StructLayout(LayoutKind.Sequential)]
    private readonly record struct RLimit(ulong Current, ulong Maximum);

    [DllImport("libc", EntryPoint = "getrlimit", SetLastError = true)]
    private static extern int GetRlimit(int resource, out RLimit limit);

    [DllImport("libc", EntryPoint = "setrlimit", SetLastError = true)]
    private static extern int SetRlimit(int resource, in RLimit limit);
}

/// <summary>How many connections each kind of listener may hold; 0 for a kind with no listener.</summary>
internal readonly record struct ConnectionShares(int Pop3, int Lmtp, int Smtp);
