using System.CommandLine;
using Restante.Auth;
using Restante.Cli;

namespace Restante.Tests.Auth;

[CollectionDefinition(nameof(ConsoleCollection), DisableParallelization = true)]
public sealed class ConsoleCollection;

/// <summary>Runs `restante user …` and `restante pw` in-process. Console.In is global, hence the serial collection.</summary>
[Collection(nameof(ConsoleCollection))]
public sealed class UserCommandsTests : IDisposable
{
    private readonly TempDirectory _dir = new();
    private readonly string _data;
    private readonly string _passwd;
    private readonly TextReader _originalIn = Console.In;

    public UserCommandsTests()
    {
        _data = Path.Combine(_dir.Path, "nested", "data");   // does not exist yet: `user add` creates it
        _passwd = Path.Combine(_data, "passwd");
    }

    public void Dispose()
    {
        Console.SetIn(_originalIn);
        _dir.Dispose();
    }

    private (int Exit, string Output, string Error) Run(string? stdin, params string[] args)
    {
        // The root command as Program.cs is expected to build it: a recursive --data on the root.
        var data = new Option<string>("--data") { Recursive = true, DefaultValueFactory = _ => "./data" };
        var root = new RootCommand("test root");
        root.Options.Add(data);
        root.Subcommands.Add(UserCommands.Create(data));
        root.Subcommands.Add(PwCommand.Create());

        Console.SetIn(new StringReader(stdin ?? ""));
        var output = new StringWriter();
        var error = new StringWriter();
        var exit = root.Parse([.. args, "--data", _data]).Invoke(new InvocationConfiguration { Output = output, Error = error });
        return (exit, output.ToString(), error.ToString());
    }

    private async Task<string?> LoginAsync(string user, string password)
        => await new Authenticator(new PasswdFile(_passwd)).VerifyPasswordAsync(user, password, CancellationToken.None);

    [Fact]
    public async Task Add_with_the_default_scheme_writes_a_bcrypt_user()
    {
        var (exit, output, error) = Run("s3cret\n", "user", "add", "alice", "--password-stdin");
        Assert.True(exit == 0, error);
        Assert.Contains("Added user alice", output, StringComparison.Ordinal);
        Assert.StartsWith("alice:{BLF-CRYPT}$2y$10$", File.ReadAllText(_passwd), StringComparison.Ordinal);
        Assert.Equal("alice", await LoginAsync("alice", "s3cret"));
        Assert.DoesNotContain("s3cret", output + error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Add_passwd_list_and_del()
    {
        Assert.Equal(0, Run("pw1\n", "user", "add", "alice", "--scheme", "SHA512-CRYPT", "--password-stdin").Exit);
        Assert.Equal(0, Run("pw2\n", "user", "add", "bob", "-s", "plain", "--password-stdin").Exit);
        Assert.Contains("bob:{PLAIN}pw2\n", File.ReadAllText(_passwd), StringComparison.Ordinal);
        Assert.Equal("alice", await LoginAsync("alice", "pw1"));

        // Hand-edited extra fields on alice's line survive a password change.
        File.WriteAllText(_passwd, File.ReadAllText(_passwd).Replace("\nbob:", ":::::: userdb_quota_rule=*:storage=1G\nbob:", StringComparison.Ordinal));
        var passwd = Run("pw3\n", "user", "passwd", "alice", "--scheme", "SHA256-CRYPT", "--password-stdin");
        Assert.True(passwd.Exit == 0, passwd.Error);
        Assert.Null(await LoginAsync("alice", "pw1"));
        Assert.Equal("alice", await LoginAsync("alice", "pw3"));
        Assert.Equal("*:storage=1G", (await new PasswdFile(_passwd).FindAsync("alice", CancellationToken.None))?.Fields["userdb_quota_rule"]);

        Assert.Equal("alice\nbob\n", Run(null, "user", "list").Output.ReplaceLineEndings("\n"));

        Assert.Equal(0, Run(null, "user", "del", "alice").Exit);
        Assert.Equal("bob\n", Run(null, "user", "list").Output.ReplaceLineEndings("\n"));
    }

    [Fact]
    public void Failures_exit_with_1_and_say_why()
    {
        Assert.Equal(0, Run("pw\n", "user", "add", "alice", "-s", "PLAIN", "--password-stdin").Exit);
        var before = File.ReadAllText(_passwd);

        var exists = Run("pw\n", "user", "add", "alice", "-s", "PLAIN", "--password-stdin");
        Assert.Equal(1, exists.Exit);
        Assert.Contains("user alice already exists", exists.Error, StringComparison.Ordinal);

        var missing = Run("pw\n", "user", "passwd", "zed", "--password-stdin");
        Assert.Equal(1, missing.Exit);
        Assert.Contains("user zed does not exist", missing.Error, StringComparison.Ordinal);

        var delMissing = Run(null, "user", "del", "zed");
        Assert.Equal(1, delMissing.Exit);
        Assert.Contains("user zed does not exist", delMissing.Error, StringComparison.Ordinal);

        var badName = Run("pw\n", "user", "add", "a:b", "--password-stdin");
        Assert.Equal(1, badName.Exit);
        Assert.Contains("invalid user name", badName.Error, StringComparison.Ordinal);

        var badScheme = Run("pw\n", "user", "add", "carol", "-s", "MD5", "--password-stdin");
        Assert.Equal(1, badScheme.Exit);
        Assert.Contains("unknown password scheme MD5", badScheme.Error, StringComparison.Ordinal);

        var noPassword = Run("", "user", "add", "carol", "--password-stdin");
        Assert.Equal(1, noPassword.Exit);
        Assert.Contains("no password", noPassword.Error, StringComparison.Ordinal);

        var colon = Run("a:b\n", "user", "add", "carol", "-s", "PLAIN", "--password-stdin");
        Assert.Equal(1, colon.Exit);
        Assert.Contains("cannot contain ':'", colon.Error, StringComparison.Ordinal);
        Assert.DoesNotContain("Parameter", colon.Error, StringComparison.Ordinal);

        Assert.Equal(before, File.ReadAllText(_passwd));
    }

    [Fact]
    public void List_without_a_file_prints_nothing()
    {
        var (exit, output, _) = Run(null, "user", "list");
        Assert.Equal(0, exit);
        Assert.Equal("", output);
    }

    [Theory]
    [InlineData("PLAIN", "{PLAIN}tanstaaf")]
    [InlineData("clear", "{PLAIN}tanstaaf")]
    public void Pw_prints_the_stored_form(string scheme, string expected)
    {
        var (exit, output, _) = Run("tanstaaf\n", "pw", "-s", scheme, "--password-stdin");
        Assert.Equal(0, exit);
        Assert.Equal(expected, output.Trim());
    }

    [Fact]
    public void Pw_hashes_with_the_chosen_scheme()
    {
        var (exit, output, _) = Run("tanstaaf\n", "pw", "--scheme", "SHA512-CRYPT", "--password-stdin");
        Assert.Equal(0, exit);
        var stored = output.Trim();
        Assert.True(PasswordSchemes.TryParse(stored, out var scheme, out var encoded, out _));
        Assert.Equal("SHA512-CRYPT", scheme.Name);
        Assert.True(scheme.Verify("tanstaaf", encoded));
    }

    [Theory]
    [InlineData("ARGON2ID", "{ARGON2ID}$argon2id$v=19$m=65536,t=3,p=1$")]
    [InlineData("PBKDF2", "{PBKDF2}$1$")]
    [InlineData("SSHA256", "{SSHA256}")]
    [InlineData("SSHA512", "{SSHA512}")]
    [InlineData("SSHA", "{SSHA}")]
    [InlineData("SCRAM-SHA-256", "{SCRAM-SHA-256}4096,")]
    [InlineData("scram-sha-1", "{SCRAM-SHA-1}4096,")]
    [InlineData("CRAM-MD5", "{CRAM-MD5}")]
    public void Pw_prints_every_new_scheme_like_doveadm(string name, string prefix)
    {
        var (exit, output, _) = Run("tanstaaf\n", "pw", "-s", name, "--password-stdin");
        Assert.Equal(0, exit);
        var stored = output.Trim();
        Assert.StartsWith(prefix, stored, StringComparison.Ordinal);
        Assert.True(PasswordSchemes.TryParse(stored, out var scheme, out var encoded, out _));
        Assert.True(scheme.Verify("tanstaaf", encoded));
        Assert.False(scheme.Verify("tanstaaF", encoded));
    }

    [Fact]
    public void Pw_help_lists_every_scheme()
    {
        var (_, output, _) = Run(null, "pw", "--help");
        foreach (var name in PasswordSchemes.Names) Assert.Contains(name, output, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("pa\rss\n", "pa\rss")]       // a CR inside the password is part of it
    [InlineData("pa ss\r\n", "pa ss")]        // CRLF is a line end
    [InlineData("trailing \n", "trailing ")]  // and so is LF alone; spaces stay
    [InlineData("no-newline", "no-newline")]
    public async Task Password_stdin_drops_only_the_line_end(string stdin, string password)
    {
        var add = Run(stdin, "user", "add", "alice", "--password-stdin");
        Assert.True(add.Exit == 0, add.Error);
        Assert.Equal("alice", await LoginAsync("alice", password));
        Assert.Null(await LoginAsync("alice", password[..^1]));
    }

    [Fact]
    public async Task User_add_stores_the_prepared_name_and_password_so_other_spellings_log_in()
    {
        // Typed decomposed (o + U+0308, a + U+0308), as some keyboards produce.
        var (exit, _, error) = Run("Pa\u0308sswort\n", "user", "add", "jo\u0308rg", "--password-stdin");
        Assert.True(exit == 0, error);
        Assert.StartsWith("j\u00f6rg:", File.ReadAllText(_passwd));   // stored precomposed (NFC)
        Assert.Equal("j\u00f6rg", await LoginAsync("j\u00f6rg", "P\u00e4sswort"));
        Assert.Equal("j\u00f6rg", await LoginAsync("jo\u0308rg", "Pa\u0308sswort"));
        Assert.Null(await LoginAsync("j\u00f6rg", "Passwort"));
    }
}
