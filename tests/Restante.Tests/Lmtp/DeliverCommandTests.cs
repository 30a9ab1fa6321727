using System.Text;
using Restante.Tests.Infrastructure;

namespace Restante.Tests.Lmtp;

/// <summary>`restante deliver` as Postfix's mailbox_command runs it: a process, a message on stdin, a sysexits code.</summary>
public class DeliverCommandTests
{
    private static async Task<(int ExitCode, string Error)> DeliverAsync(string data, string message, string[] arguments, Dictionary<string, string>? environment = null)
    {
        var (exit, output, error) = await CliProcess.RunAsync(["deliver", "--data", data, .. arguments], Encoding.Latin1.GetBytes(message), environment);
        Assert.Equal("", output);
        return (exit, error);
    }

    private static TempDirectory Seed()
    {
        var data = new TempDirectory();
        File.WriteAllText(Path.Combine(data.Path, "passwd"),
            "alice:{PLAIN}secret\nbob:{PLAIN}secret::::::userdb_quota_rule=*:bytes=50\n");
        return data;
    }

    private static string[] NewFiles(string data, string user) =>
        Directory.Exists(Path.Combine(data, "mail", user, "new")) ? Directory.GetFiles(Path.Combine(data, "mail", user, "new")) : [];

    [Fact]
    public async Task Delivers_with_headers_and_exits_0()
    {
        using var data = Seed();
        var (exit, error) = await DeliverAsync(data.Path, "From sender@example.org Thu Jan  1 00:00:00 2025\nSubject: piped\n\nbody\n", ["-u", "alice"]);
        Assert.True(exit == 0, error);
        var file = Assert.Single(NewFiles(data.Path, "alice"));
        // Stored with CRLF line ends (see WireFormConverter).
        Assert.Equal("Return-Path: <sender@example.org>\r\nDelivered-To: alice\r\nSubject: piped\r\n\r\nbody\r\n", await File.ReadAllTextAsync(file));
        // Stored with CRLF line ends: S = W, and in wire form (P=) since nothing needs stuffing.
        Assert.EndsWith($",S={new FileInfo(file).Length},W={new FileInfo(file).Length},P={new FileInfo(file).Length}", file);
    }

    [Fact]
    public async Task The_sender_option_wins()
    {
        using var data = Seed();
        var (exit, error) = await DeliverAsync(data.Path, "Subject: x\n\nx\n", ["-u", "alice", "-f", "<bounce@example.org>"]);
        Assert.True(exit == 0, error);
        Assert.StartsWith("Return-Path: <bounce@example.org>\r\n", await File.ReadAllTextAsync(Assert.Single(NewFiles(data.Path, "alice"))));
    }

    [Fact]
    public async Task An_unknown_user_exits_67()
    {
        using var data = Seed();
        var (exit, error) = await DeliverAsync(data.Path, "Subject: x\n\nx\n", ["-u", "nobody"]);
        Assert.Equal(67, exit);
        Assert.Contains("no such user", error);
    }

    [Fact]
    public async Task An_unknown_user_is_echoed_to_the_mta_log_escaped()
    {
        // Postfix passes the recipient the sender chose and logs what deliver writes to stderr.
        using var data = Seed();
        var (exit, error) = await DeliverAsync(data.Path, "Subject: x\n\nx\n", ["-u", "x\rBlocked login attempts from 198.51.100.23 after"]);
        Assert.Equal(67, exit);
        Assert.Equal(@"restante deliver: no such user: x\x0dBlocked\x20login\x20attempts\x20from\x20198.51.100.23\x20after", error.TrimEnd('\n'));
    }

    [Fact]
    public async Task Missing_user_or_unknown_options_exit_64()
    {
        using var data = Seed();
        Assert.Equal(64, (await DeliverAsync(data.Path, "x\n", [])).ExitCode);
        Assert.Equal(64, (await DeliverAsync(data.Path, "x\n", ["-u", "alice", "--bogus"])).ExitCode);
        Assert.Empty(NewFiles(data.Path, "alice"));
    }

    [Fact]
    public async Task Over_quota_exits_73_and_stores_nothing()
    {
        using var data = Seed();
        var (exit, error) = await DeliverAsync(data.Path, "Subject: too much for bob\n\n" + new string('x', 100) + "\n", ["-u", "bob"]);
        Assert.Equal(73, exit);
        Assert.Contains("full", error);
        Assert.Empty(NewFiles(data.Path, "bob"));
    }

    [Fact]
    public async Task An_unwritable_mailbox_exits_75_so_the_MTA_retries()
    {
        using var data = Seed();
        // /dev/null is not a directory: creating the Maildir fails with an I/O error.
        var (exit, error) = await DeliverAsync(data.Path, "Subject: x\n\nx\n", ["-u", "alice", "--maildir", "/dev/null/%u"]);
        Assert.Equal(75, exit);
        Assert.Contains("try again later", error);
    }

    [Fact]
    public async Task A_message_over_the_maximum_size_exits_65()
    {
        using var data = Seed();
        var (exit, _) = await DeliverAsync(data.Path, "Subject: big\n\n" + new string('x', 3000) + "\n", ["-u", "alice"],
            new Dictionary<string, string> { ["RESTANTE_MAXMESSAGESIZE"] = "1k" });
        Assert.Equal(65, exit);
        Assert.Empty(NewFiles(data.Path, "alice"));
    }

    [Fact]
    public async Task A_configuration_error_exits_78()
    {
        using var data = Seed();
        var (exit, error) = await DeliverAsync(data.Path, "x\n", ["-u", "alice"], new Dictionary<string, string> { ["RESTANTE_DEFAULTQUOTA"] = "lots" });
        Assert.Equal(78, exit);
        Assert.Contains("DefaultQuota", error);
    }
}
