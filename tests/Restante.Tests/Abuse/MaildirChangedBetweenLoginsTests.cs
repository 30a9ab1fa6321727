using Restante.Tests.Infrastructure;

namespace Restante.Tests.Abuse;

/// <summary>
/// A login opens the Maildir root in one open(2) where the template allows it, only looks at tmp/ (lstat) instead of
/// opening it, and reads restante-policy only when a policy needs it. None of that may remember anything from one
/// login to the next: what the user changed in between — a folder swapped for a symlink or a file, a folder deleted,
/// the Maildir itself swapped — is seen by the next login, on the same running server.
/// </summary>
public class MaildirChangedBetweenLoginsTests
{
    private const string Normal = "Subject: hi\n\nhello\n";

    [Theory]
    [InlineData("tmp")]
    [InlineData("new")]
    [InlineData("cur")]
    public async Task A_folder_swapped_for_a_symlink_after_a_good_login_refuses_the_next(string folder)
    {
        await using var server = await StartWithAliceAsync();
        server.Deliver("alice", Normal, 1_700_000_005);
        await AssertLoginAsync(server, "+OK Logged in, 1 message");
        var elsewhere = Path.Combine(server.Data.Path, "outside", folder);
        Directory.CreateDirectory(elsewhere);
        var path = Path.Combine(server.MaildirOf("alice"), folder);
        Directory.Delete(path, recursive: true);
        Directory.CreateSymbolicLink(path, elsewhere);

        await AssertLoginAsync(server, "-ERR [SYS/PERM]");
        Assert.Contains(server.Logs.Lines, l => l.Contains("Refusing", StringComparison.Ordinal) && l.Contains($"{folder}/ is a symlink", StringComparison.Ordinal));
    }

    [Fact]
    public async Task A_tmp_swapped_for_a_file_after_a_good_login_refuses_the_next()
    {
        await using var server = await StartWithAliceAsync();
        server.Deliver("alice", Normal, 1_700_000_005);
        await AssertLoginAsync(server, "+OK Logged in, 1 message");
        var tmp = Path.Combine(server.MaildirOf("alice"), "tmp");
        Directory.Delete(tmp, recursive: true);
        File.WriteAllText(tmp, "not a folder\n");

        await AssertLoginAsync(server, "-ERR [SYS/PERM]");
        Assert.Contains(server.Logs.Lines, l => l.Contains("Refusing", StringComparison.Ordinal) && l.Contains("tmp/ is a symlink or not a directory", StringComparison.Ordinal));
    }

    // new/ and cur/ are checked by the statx that reads their stamps under the lock (VerifiedMaildir.StampOf), not at
    // open: the refusals and the making of a missing folder must be the same as tmp/'s.
    [Theory]
    [InlineData("new")]
    [InlineData("cur")]
    public async Task A_message_folder_swapped_for_a_file_after_a_good_login_refuses_the_next(string folder)
    {
        await using var server = await StartWithAliceAsync();
        server.Deliver("alice", Normal, 1_700_000_005);
        await AssertLoginAsync(server, "+OK Logged in, 1 message");
        var path = Path.Combine(server.MaildirOf("alice"), folder);
        Directory.Delete(path, recursive: true);
        File.WriteAllText(path, "not a folder\n");

        await AssertLoginAsync(server, "-ERR [SYS/PERM]");
        Assert.Contains(server.Logs.Lines, l => l.Contains("Refusing", StringComparison.Ordinal) && l.Contains($"{folder}/ is a symlink or not a directory", StringComparison.Ordinal));
    }

    [Theory]
    [InlineData("new", "+OK Logged in, 0 messages")]
    [InlineData("cur", "+OK Logged in, 1 message")]
    public async Task A_message_folder_deleted_after_a_good_login_is_made_again_by_the_next(string folder, string expected)
    {
        await using var server = await StartWithAliceAsync();
        server.Deliver("alice", Normal, 1_700_000_005);
        await AssertLoginAsync(server, "+OK Logged in, 1 message");
        var path = Path.Combine(server.MaildirOf("alice"), folder);
        Directory.Delete(path, recursive: true);

        await AssertLoginAsync(server, expected);
        Assert.True(Directory.Exists(path));
        Assert.Null(new DirectoryInfo(path).LinkTarget);
        // And the Maildir is whole for the login after (the index listed the new folder, not the deleted one).
        await AssertLoginAsync(server, expected);
    }

    [Fact]
    public async Task A_tmp_deleted_after_a_good_login_is_made_again_by_the_next()
    {
        await using var server = await StartWithAliceAsync();
        server.Deliver("alice", Normal, 1_700_000_005);
        await AssertLoginAsync(server, "+OK Logged in, 1 message");
        var tmp = Path.Combine(server.MaildirOf("alice"), "tmp");
        Directory.Delete(tmp, recursive: true);

        await AssertLoginAsync(server, "+OK Logged in, 1 message");
        Assert.True(Directory.Exists(tmp));
        Assert.Null(new DirectoryInfo(tmp).LinkTarget);
    }

    [Fact]
    public async Task The_maildir_swapped_for_a_symlink_after_a_good_login_refuses_the_next()
    {
        await using var server = await StartWithAliceAsync();
        server.Deliver("alice", Normal, 1_700_000_005);
        await AssertLoginAsync(server, "+OK Logged in, 1 message");
        // The same Maildir, moved aside and linked back: a symlink even to the user's own mail is refused.
        var maildir = server.MaildirOf("alice");
        var moved = Path.Combine(server.Data.Path, "outside", "alice");
        Directory.CreateDirectory(Path.GetDirectoryName(moved)!);
        Directory.Move(maildir, moved);
        Directory.CreateSymbolicLink(maildir, moved);

        await AssertLoginAsync(server, "-ERR [SYS/PERM]");
        Assert.Contains(server.Logs.Lines, l => l.Contains("Refusing", StringComparison.Ordinal) && l.Contains("alice is a symlink", StringComparison.Ordinal));
    }

    [Fact]
    public async Task A_symlink_in_the_administrators_part_of_the_template_is_followed()
    {
        // The directory above %u is the administrator's (see VerifiedMaildir.Open): a symlink there is configuration.
        var data = new TempDirectory();
        var real = Path.Combine(data.Path, "real-mail");
        Directory.CreateDirectory(real);
        Directory.CreateSymbolicLink(Path.Combine(data.Path, "mail"), real);
        await using var server = await TestServer.StartAsync(data: data, configureServer: o => o.Maildir = Path.Combine(data.Path, "mail", "%u"));
        server.AddUser("alice", "secret");

        await AssertLoginAsync(server, "+OK Logged in, 0 messages");
        Assert.True(Directory.Exists(Path.Combine(real, "alice", "cur")));
    }

    private static async Task<TestServer> StartWithAliceAsync()
    {
        var server = await TestServer.StartAsync();
        server.AddUser("alice", "secret");
        return server;
    }

    private static async Task AssertLoginAsync(TestServer server, string expected)
    {
        await using var c = await server.ConnectAsync();
        await c.ExpectAsync("+OK");
        await c.SendAsync("USER alice");
        await c.ExpectAsync("+OK");
        await c.SendAsync("PASS secret");
        await c.ExpectAsync(expected);
        await c.SendAsync("QUIT");
        // The mailbox is let go before this reply (issue 13): waiting for it keeps the next login from racing the release.
        await c.ExpectAsync("+OK");
    }
}
