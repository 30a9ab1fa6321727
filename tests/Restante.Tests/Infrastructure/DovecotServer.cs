using System.Diagnostics;
using System.Net;
using Restante.Tests.Tls;

namespace Restante.Tests.Infrastructure;

/// <summary>
/// A real Dovecot (Debian's dovecot-pop3d, installed by test.sh) of its own: its own configuration,
/// base_dir and a free loopback port, plain POP3 only, users from a passwd-file with {PLAIN}
/// passwords, Maildirs at MAILROOT/%u. The package's system instance is not touched. As root the
/// master switches mail processes to the unprivileged user "mail" (the Maildirs are handed to it);
/// otherwise everything runs as the calling user.
/// </summary>
internal sealed class DovecotServer : IAsyncDisposable
{
    public const string Binary = "/usr/sbin/dovecot";

    private readonly string _work;

    private DovecotServer(string work, int port)
    {
        _work = work;
        Port = port;
    }

    public int Port { get; }

    public IPEndPoint EndPoint => new(IPAddress.Loopback, Port);

    /// <summary>Why Dovecot cannot run here, or null when it can.</summary>
    public static string? MissingReason => File.Exists(Binary) ? null : $"{Binary} is not installed (Debian package dovecot-pop3d; test.sh installs it)";

    /// <param name="work">A directory of the test's for Dovecot's configuration and runtime files.</param>
    /// <param name="mailRoot">Holds one Maildir per user (MAILROOT/alice).</param>
    public static async Task<DovecotServer> StartAsync(string work, string mailRoot, IReadOnlyDictionary<string, string> users, string uidlFormat = "%08Xu%08Xv")
    {
        Directory.CreateDirectory(work);
        var port = ServerProcess.FreePort();
        var root = Environment.UserName == "root";
        var passwd = Path.Combine(work, "passwd");
        await File.WriteAllLinesAsync(passwd, users.Select(u => $"{u.Key}:{{PLAIN}}{u.Value}"));
        var (internalUser, loginUser, mailUser) = root ? ("dovecot", "dovenull", "mail") : (Environment.UserName, Environment.UserName, Environment.UserName);
        var config = $$"""
            instance_name = restante-test-{{port}}
            base_dir = {{work}}/run
            state_dir = {{work}}/state
            protocols = pop3
            listen = 127.0.0.1
            log_path = {{work}}/dovecot.log
            default_internal_user = {{internalUser}}
            default_internal_group = {{internalUser}}
            default_login_user = {{loginUser}}
            first_valid_uid = 0
            first_valid_gid = 0
            mail_location = maildir:{{mailRoot}}/%u
            pop3_uidl_format = {{uidlFormat}}
            auth_mechanisms = plain
            disable_plaintext_auth = no
            ssl = no
            passdb {
              driver = passwd-file
              args = scheme=PLAIN username_format=%u {{passwd}}
            }
            userdb {
              driver = static
              args = uid={{mailUser}} gid={{mailUser}} home={{work}}/home/%u
            }
            service pop3-login {
              inet_listener pop3 {
                address = 127.0.0.1
                port = {{port}}
              }
            }
            """;
        var configPath = Path.Combine(work, "dovecot.conf");
        await File.WriteAllTextAsync(configPath, config);
        if (root && OperatingSystem.IsLinux())
        {
            // Dovecot never runs a mail process as root: its user must own the Maildirs and reach them.
            Directory.CreateDirectory(Path.Combine(work, "home"));
            await Processes.RunAsync("chown", null, "-R", "mail:mail", mailRoot, Path.Combine(work, "home"));
            for (var dir = Path.GetDirectoryName(mailRoot); dir is not null && dir != "/"; dir = Path.GetDirectoryName(dir))
                File.SetUnixFileMode(dir, File.GetUnixFileMode(dir) | UnixFileMode.OtherExecute);
        }
        // The master daemonizes and keeps its descriptors: its output goes to a file, not to a pipe
        // that would stay open as long as Dovecot runs.
        var startLog = Path.Combine(work, "start.log");
        var (exit, _) = await Processes.RunAsync("sh", null, "-c", "exec \"$0\" -c \"$1\" >\"$2\" 2>&1", Binary, configPath, startLog);
        if (exit != 0) throw new InvalidOperationException($"dovecot did not start ({exit}): {await File.ReadAllTextAsync(startLog)}");
        var server = new DovecotServer(work, port);
        var deadline = Stopwatch.StartNew();
        while (true)
        {
            try
            {
                using var probe = new System.Net.Sockets.TcpClient();
                await probe.ConnectAsync(IPAddress.Loopback, port);
                return server;
            }
            catch (System.Net.Sockets.SocketException) when (deadline.Elapsed < TimeSpan.FromSeconds(30))
            {
                await Task.Delay(100);
            }
        }
    }

    public string Log => File.Exists(Path.Combine(_work, "dovecot.log")) ? File.ReadAllText(Path.Combine(_work, "dovecot.log")) : "";

    public async ValueTask DisposeAsync()
    {
        var pidFile = Path.Combine(_work, "run", "master.pid");
        if (!File.Exists(pidFile)) return;
        var pid = (await File.ReadAllTextAsync(pidFile)).Trim();
        // SIGTERM: the master stops its children and removes its files. Not our child, so poll /proc.
        await Processes.RunAsync("kill", null, "-TERM", pid);
        var deadline = Stopwatch.StartNew();
        while (Directory.Exists($"/proc/{pid}") && deadline.Elapsed < TimeSpan.FromSeconds(30)) await Task.Delay(50);
        if (Directory.Exists($"/proc/{pid}")) await Processes.RunAsync("kill", null, "-KILL", pid);
    }
}
