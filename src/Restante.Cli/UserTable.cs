using Restante.Auth;
using Restante.Postgres;

namespace Restante.Cli;

/// <summary>Where `restante user …` edits users: the passwd file, or the PostgreSQL mail_user table.</summary>
internal interface IUserTable : IDisposable
{
    /// <summary>Names the table in messages ("/srv/data/passwd", "the PostgreSQL user table").</summary>
    string Where { get; }

    bool Exists(string name);

    void Add(string name, string storedSecret);

    void SetPassword(string name, string storedSecret);

    void Remove(string name);

    IReadOnlyList<string> List();
}

internal sealed class PasswdUserTable(string path) : IUserTable
{
    public string Where => path;

    public bool Exists(string name) => PasswdFileEditor.ListUsers(path).Contains(name, StringComparer.Ordinal);

    public void Add(string name, string storedSecret) => PasswdFileEditor.AddUser(path, name, storedSecret);

    public void SetPassword(string name, string storedSecret) => PasswdFileEditor.SetPassword(path, name, storedSecret);

    public void Remove(string name) => PasswdFileEditor.RemoveUser(path, name);

    public IReadOnlyList<string> List() => PasswdFileEditor.ListUsers(path);

    public void Dispose()
    {
    }
}

internal sealed class PostgresUserTable(string connectionString) : IUserTable
{
    private readonly PostgresUserDirectory _directory = new(connectionString);

    public string Where => "the PostgreSQL user table";

    // One row looked up, not the whole table listed.
    public bool Exists(string name) => _directory.FindAsync(name, CancellationToken.None).AsTask().GetAwaiter().GetResult() is not null;

    public void Add(string name, string storedSecret)
    {
        if (!_directory.Add(name, storedSecret)) throw new PasswdFileException($"{Where}: user {name} already exists");
    }

    public void SetPassword(string name, string storedSecret)
    {
        if (!_directory.SetPassword(name, storedSecret)) throw new PasswdFileException($"{Where}: user {name} does not exist");
    }

    public void Remove(string name)
    {
        if (!_directory.Remove(name)) throw new PasswdFileException($"{Where}: user {name} does not exist");
    }

    public IReadOnlyList<string> List() => _directory.List();

    public void Dispose() => _directory.Dispose();
}
