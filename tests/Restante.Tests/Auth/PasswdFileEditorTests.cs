using Restante.Auth;

namespace Restante.Tests.Auth;

public sealed class PasswdFileEditorTests : IDisposable
{
    private const string Original =
        "# managed by hand and by restante\n" +
        "alice:{PLAIN}a:1000:1000:Alice:/home/alice::userdb_quota_rule=*:storage=100M\n" +
        "\n" +
        "  # indented comment\n" +
        "bob:{PLAIN}b\n";

    private readonly TempDirectory _dir = new();
    private readonly string _path;

    public PasswdFileEditorTests()
    {
        _path = _dir.File("passwd");
        File.WriteAllText(_path, Original);
    }

    public void Dispose() => _dir.Dispose();

    [Fact]
    public void Add_appends_and_keeps_everything_else()
    {
        PasswdFileEditor.AddUser(_path, "carol", "{PLAIN}c");
        Assert.Equal(Original + "carol:{PLAIN}c\n", File.ReadAllText(_path));
        Assert.Equal(["alice", "bob", "carol"], PasswdFileEditor.ListUsers(_path));
    }

    [Fact]
    public void Add_creates_a_missing_file_readable_by_the_owner_only()
    {
        var path = _dir.File("new-passwd");
        PasswdFileEditor.AddUser(path, "alice", "{PLAIN}a");
        Assert.Equal("alice:{PLAIN}a\n", File.ReadAllText(path));
        if (!OperatingSystem.IsWindows())
            Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(path));
    }

    [Fact]
    public void Add_refuses_an_existing_user()
    {
        var ex = Assert.Throws<PasswdFileException>(() => PasswdFileEditor.AddUser(_path, "bob", "{PLAIN}x"));
        Assert.Contains("user bob already exists", ex.Message, StringComparison.Ordinal);
        Assert.Equal(Original, File.ReadAllText(_path));
    }

    [Fact]
    public void SetPassword_replaces_only_the_secret()
    {
        PasswdFileEditor.SetPassword(_path, "alice", "{SHA256-CRYPT}$5$saltstring$5B8vYYiY.CVt1RlTTf8KbXBH3hsxY/GNooZaBBGWEc5");
        Assert.Equal(
            Original.Replace("alice:{PLAIN}a:", "alice:{SHA256-CRYPT}$5$saltstring$5B8vYYiY.CVt1RlTTf8KbXBH3hsxY/GNooZaBBGWEc5:", StringComparison.Ordinal),
            File.ReadAllText(_path));
        PasswdFileEditor.SetPassword(_path, "bob", "{PLAIN}bb");
        Assert.EndsWith("\nbob:{PLAIN}bb\n", File.ReadAllText(_path), StringComparison.Ordinal);
    }

    [Fact]
    public void SetPassword_refuses_a_missing_user()
    {
        var ex = Assert.Throws<PasswdFileException>(() => PasswdFileEditor.SetPassword(_path, "zed", "{PLAIN}x"));
        Assert.Contains("user zed does not exist", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Remove_deletes_only_that_line()
    {
        PasswdFileEditor.RemoveUser(_path, "alice");
        Assert.Equal(Original.Replace("alice:{PLAIN}a:1000:1000:Alice:/home/alice::userdb_quota_rule=*:storage=100M\n", "", StringComparison.Ordinal),
            File.ReadAllText(_path));
        Assert.Equal(["bob"], PasswdFileEditor.ListUsers(_path));
        Assert.Throws<PasswdFileException>(() => PasswdFileEditor.RemoveUser(_path, "alice"));
    }

    [Fact]
    public void A_commented_out_user_does_not_count()
    {
        File.WriteAllText(_path, "#alice:{PLAIN}old\n");
        Assert.Empty(PasswdFileEditor.ListUsers(_path));
        PasswdFileEditor.AddUser(_path, "alice", "{PLAIN}new");
        Assert.Equal("#alice:{PLAIN}old\nalice:{PLAIN}new\n", File.ReadAllText(_path));
    }

    [Fact]
    public async Task Edits_leave_a_file_the_server_loads_and_no_temporary_files()
    {
        PasswdFileEditor.AddUser(_path, "carol", "{PLAIN}c");
        PasswdFileEditor.SetPassword(_path, "carol", "{PLAIN}cc");
        PasswdFileEditor.RemoveUser(_path, "bob");
        var file = new PasswdFile(_path);
        Assert.Equal("{PLAIN}cc", (await file.FindAsync("carol", CancellationToken.None))?.Password);
        Assert.Equal("*:storage=100M", (await file.FindAsync("alice", CancellationToken.None))?.Fields["userdb_quota_rule"]);
        Assert.Equal(["passwd", "passwd.lock"], Directory.GetFiles(_dir.Path).Select(Path.GetFileName).Order(StringComparer.Ordinal));
    }

    [Fact]
    public void ListUsers_of_a_missing_file_is_empty() => Assert.Empty(PasswdFileEditor.ListUsers(_dir.File("nothing")));

    [Theory]
    [InlineData("")]
    [InlineData(".")]
    [InlineData("..")]
    [InlineData("a:b")]
    [InlineData("a b")]
    [InlineData("a/b")]
    [InlineData("a\tb")]
    [InlineData("a\u0001b")]
    [InlineData("#alice")]
    [InlineData("aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa")]   // 65 characters
    public void Refuses_bad_names(string name)
    {
        Assert.Throws<ArgumentException>(() => PasswdFileEditor.AddUser(_path, name, "{PLAIN}x"));
        Assert.Equal(Original, File.ReadAllText(_path));
    }

    [Theory]
    [InlineData("alice@example.org")]
    [InlineData("j.random-user_1")]
    [InlineData("aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa")]    // 64 characters
    public void Accepts_good_names(string name)
    {
        PasswdFileEditor.AddUser(_path, name, "{PLAIN}x");
        Assert.Contains(name, PasswdFileEditor.ListUsers(_path));
    }

    [Theory]
    [InlineData("{PLAIN}a:b")]
    [InlineData("{PLAIN}a\nb")]
    [InlineData("{FOO}x")]
    [InlineData("nobraces")]
    public void Refuses_secrets_that_would_break_the_file(string secret)
    {
        Assert.Throws<ArgumentException>(() => PasswdFileEditor.AddUser(_path, "carol", secret));
        Assert.Equal(Original, File.ReadAllText(_path));
    }
}
