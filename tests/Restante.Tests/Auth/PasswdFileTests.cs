using Microsoft.Extensions.Logging;
using Restante.Auth;

namespace Restante.Tests.Auth;

public sealed class PasswdFileTests : IDisposable
{
    private readonly TempDirectory _dir = new();
    private readonly ListLogger<PasswdFile> _logger = new();
    private readonly string _path;

    public PasswdFileTests() => _path = _dir.File("passwd");

    public void Dispose() => _dir.Dispose();

    private static ValueTask<UserRecord?> FindAsync(PasswdFile file, string name) => file.FindAsync(name, CancellationToken.None);

    [Fact]
    public async Task An_edit_of_the_file_behind_a_symlink_is_picked_up()
    {
        var target = _dir.File("kept-elsewhere");
        File.WriteAllText(target, "alice:{PLAIN}old\n");
        File.SetLastWriteTimeUtc(target, DateTime.UtcNow - TimeSpan.FromHours(1));
        File.CreateSymbolicLink(_path, target);
        // The link's own time well out of the racy window, so only the target's stamp can tell of the edit.
        using (var touch = System.Diagnostics.Process.Start("touch", ["-h", "-d", "@1700000000", _path])) touch.WaitForExit();
        var file = new PasswdFile(_path, _logger);
        Assert.Equal("{PLAIN}old", (await FindAsync(file, "alice"))!.Password);

        File.WriteAllText(target, "alice:{PLAIN}new\n");
        File.SetLastWriteTimeUtc(target, DateTime.UtcNow - TimeSpan.FromMinutes(30));

        Assert.Equal("{PLAIN}new", (await FindAsync(file, "alice"))!.Password);
    }

    [Fact]
    public async Task Parses_users_comments_and_optional_fields()
    {
        File.WriteAllText(_path, """
            # users for the test

            alice:{PLAIN}tanstaaf
            bob:{SHA512-CRYPT}$6$saltstring$svn8UoSVapNtMuq1ukKS4tPQd8iKwSMHWjl/O817G3uBnIFNjnQJuesI68u4OTLiBFdcbYEdFCoEOfaS35inz1:1000:1000::/home/bob::userdb_quota_rule=*:storage=100M  nodelay
              # an indented comment
            carol:{BLF-CRYPT}$2y$04$LgxcKP8d2Xw5qKVDjTGLNeyNaIuZ89rdHbvvF1Gph7hCX3OMqDuIG:::
            dave:
            """.Replace("\r\n", "\n", StringComparison.Ordinal));
        var file = new PasswdFile(_path, _logger);

        var alice = await FindAsync(file, "alice");
        Assert.NotNull(alice);
        Assert.Equal("{PLAIN}tanstaaf", alice.Password);
        Assert.Empty(alice.Fields);

        var bob = await FindAsync(file, "bob");
        Assert.NotNull(bob);
        Assert.StartsWith("{SHA512-CRYPT}$6$saltstring$", bob.Password, StringComparison.Ordinal);
        Assert.Equal("*:storage=100M", bob.Fields["userdb_quota_rule"]);
        Assert.Equal("", bob.Fields["nodelay"]);
        Assert.Equal(2, bob.Fields.Count);

        Assert.Equal("{BLF-CRYPT}$2y$04$LgxcKP8d2Xw5qKVDjTGLNeyNaIuZ89rdHbvvF1Gph7hCX3OMqDuIG", (await FindAsync(file, "carol"))?.Password);
        Assert.Equal("", (await FindAsync(file, "dave"))?.Password);   // present, but cannot log in
        Assert.Null(await FindAsync(file, "Alice"));                  // exact, case-sensitive match
        Assert.Null(await FindAsync(file, "# users for the test"));
    }

    [Fact]
    public async Task Accepts_crlf_line_endings()
    {
        File.WriteAllText(_path, "alice:{PLAIN}a\r\nbob:{PLAIN}b:::::: k=v\r\n");
        var file = new PasswdFile(_path);
        Assert.Equal("{PLAIN}a", (await FindAsync(file, "alice"))?.Password);
        Assert.Equal("v", (await FindAsync(file, "bob"))?.Fields["k"]);
    }

    [Theory]
    [InlineData("alice:{PLAIN}a\n\nbob:{FOO}x\n", 3, "unknown password scheme {FOO}")]
    [InlineData("# c\nalice:secret\n", 2, "password has no {SCHEME} prefix")]
    [InlineData("alice:{PLAIN}a\nalice:{PLAIN}b\n", 2, "user alice is already defined on line 1")]
    [InlineData("al ice:{PLAIN}a\n", 1, "user name cannot contain")]
    [InlineData(":{PLAIN}a\n", 1, "user name is empty")]
    public void A_bad_line_fails_the_first_load_naming_file_and_line(string content, int line, string detail)
    {
        File.WriteAllText(_path, content);
        var ex = Assert.Throws<PasswdFileException>(() => new PasswdFile(_path));
        Assert.StartsWith($"{_path} line {line}: {detail}", ex.Message, StringComparison.Ordinal);
        Assert.Equal(line, ex.LineNumber);
        Assert.DoesNotContain("secret", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_missing_file_means_no_users_until_it_appears()
    {
        var file = new PasswdFile(_path, _logger);
        Assert.Null(await FindAsync(file, "alice"));
        Assert.Contains(_logger.Entries, e => e.Level == LogLevel.Warning);

        File.WriteAllText(_path, "alice:{PLAIN}a\n");
        Assert.NotNull(await FindAsync(file, "alice"));

        File.Delete(_path);
        Assert.Null(await FindAsync(file, "alice"));
    }

    [Fact]
    public async Task Sees_a_same_length_rewrite_made_right_after_loading()
    {
        // Same length, written within the timestamp granularity: only the content check can notice.
        File.WriteAllText(_path, "alice:{PLAIN}aaaa\n");
        var file = new PasswdFile(_path);
        Assert.Equal("{PLAIN}aaaa", (await FindAsync(file, "alice"))?.Password);

        File.WriteAllText(_path, "alice:{PLAIN}bbbb\n");
        Assert.Equal("{PLAIN}bbbb", (await FindAsync(file, "alice"))?.Password);
    }

    [Fact]
    public async Task Sees_a_change_with_a_new_timestamp()
    {
        // Old timestamps put the file outside the racy window, so the stat alone must trigger the reload.
        File.WriteAllText(_path, "alice:{PLAIN}a\n");
        File.SetLastWriteTimeUtc(_path, DateTime.UtcNow.AddHours(-2));
        var file = new PasswdFile(_path, _logger);
        Assert.NotNull(await FindAsync(file, "alice"));

        File.WriteAllText(_path, "bob:{PLAIN}b\n");
        File.SetLastWriteTimeUtc(_path, DateTime.UtcNow.AddHours(-1));
        Assert.Null(await FindAsync(file, "alice"));
        Assert.NotNull(await FindAsync(file, "bob"));
        Assert.Equal(2, _logger.Entries.Count(e => e.Message.StartsWith("Loaded 1 users", StringComparison.Ordinal)));
    }

    [Fact]
    public async Task A_bad_reload_keeps_the_old_users_and_logs_the_line_once()
    {
        File.WriteAllText(_path, "alice:{PLAIN}a\n");
        var file = new PasswdFile(_path, _logger);

        File.WriteAllText(_path, "alice:{PLAIN}a\nbob:{FOO}hunter2\n");
        Assert.Equal("{PLAIN}a", (await FindAsync(file, "alice"))?.Password);
        Assert.Null(await FindAsync(file, "bob"));
        Assert.Equal("{PLAIN}a", (await FindAsync(file, "alice"))?.Password);

        var errors = _logger.Entries.Where(e => e.Level == LogLevel.Error).ToList();
        var error = Assert.Single(errors);
        Assert.Contains($"{_path} line 2: unknown password scheme {{FOO}}", error.Message, StringComparison.Ordinal);
        Assert.Contains("keeping the previous 1 users", error.Message, StringComparison.Ordinal);

        File.WriteAllText(_path, "alice:{PLAIN}a\nbob:{PLAIN}b\n");
        Assert.NotNull(await FindAsync(file, "bob"));
    }

    [Fact]
    public async Task Logs_never_contain_secrets()
    {
        File.WriteAllText(_path, "alice:{PLAIN}hunter2\n");
        var file = new PasswdFile(_path, _logger);
        File.WriteAllText(_path, "alice:hunter2\n");
        await FindAsync(file, "alice");
        Assert.NotEmpty(_logger.Entries);
        Assert.DoesNotContain(_logger.Entries, e => e.Message.Contains("hunter2", StringComparison.Ordinal));
    }

    [Fact]
    public async Task Concurrent_lookups_during_rewrites_always_see_a_whole_file()
    {
        File.WriteAllText(_path, "alice:{PLAIN}a\nbob:{PLAIN}b\n");
        var file = new PasswdFile(_path, _logger);
        using var stop = new CancellationTokenSource();
        var readers = Enumerable.Range(0, 4).Select(_ => Task.Run(async () =>
        {
            var lookups = 0;
            while (!stop.IsCancellationRequested || lookups == 0)
            {
                Assert.NotNull(await FindAsync(file, "alice"));
                lookups++;
            }
        })).ToList();
        for (var i = 0; i < 20; i++)
            PasswdFileEditor.SetPassword(_path, "bob", $"{{PLAIN}}b{i}");
        await stop.CancelAsync();
        await Task.WhenAll(readers);
        Assert.Equal("{PLAIN}b19", (await FindAsync(file, "bob"))?.Password);
        Assert.DoesNotContain(_logger.Entries, e => e.Level == LogLevel.Error);
    }

    [Fact]
    public async Task Honours_cancellation()
    {
        var file = new PasswdFile(_path);
        using var cancelled = new CancellationTokenSource();
        await cancelled.CancelAsync();
        await Assert.ThrowsAsync<OperationCanceledException>(async () => await file.FindAsync("alice", cancelled.Token));
    }
}
