using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Npgsql;
using Restante.Auth;

namespace Restante.Postgres;

/// <summary>
/// Users in the <c>mail_user</c> table of the store's database: the same records as a passwd file
/// line (name, "{SCHEME}encoded" secret, extra fields), shared by every node at once.
/// </summary>
public sealed class PostgresUserDirectory : IUserDirectory, IAsyncDisposable, IDisposable
{
    private readonly NpgsqlDataSource _dataSource;

    public PostgresUserDirectory(string connectionString, ILoggerFactory? loggerFactory = null)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(connectionString);
        var builder = PostgresConnectionDefaults.CreateBuilder(connectionString);
        builder.UseLoggerFactory(loggerFactory ?? NullLoggerFactory.Instance);
        _dataSource = builder.Build();
    }

    /// <summary>Looks a user up. A database that cannot answer is a <see cref="UserDirectoryUnavailableException"/>: LMTP says 451, POP3 -ERR [SYS/TEMP].</summary>
    public async ValueTask<UserRecord?> FindAsync(string name, CancellationToken cancellationToken)
    {
        try
        {
            await using var command = _dataSource.CreateCommand("SELECT password, fields FROM mail_user WHERE name = $1");
            command.Parameters.AddWithValue(name);
            await using var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
            if (!await reader.ReadAsync(cancellationToken).ConfigureAwait(false)) return null;
            return new UserRecord(name, reader.GetString(0), ParseFields(reader.GetFieldValue<string[]>(1)));
        }
        catch (Exception ex) when (PostgresFailure.IsDatabaseFailure(ex))
        {
            throw new UserDirectoryUnavailableException($"Cannot look up user {name}: {ex.Message}", ex);
        }
    }

    /// <summary>Adds a user; false when the name is taken.</summary>
    public bool Add(string name, string storedSecret, IReadOnlyList<string>? fields = null)
    {
        using var command = _dataSource.CreateCommand("INSERT INTO mail_user (name, password, fields) VALUES ($1, $2, $3) ON CONFLICT (name) DO NOTHING");
        command.Parameters.AddWithValue(name);
        command.Parameters.AddWithValue(storedSecret);
        command.Parameters.AddWithValue((fields ?? []).ToArray());
        return command.ExecuteNonQuery() == 1;
    }

    /// <summary>Sets a user's secret, keeping the other fields; false when there is no such user.</summary>
    public bool SetPassword(string name, string storedSecret)
    {
        using var command = _dataSource.CreateCommand("UPDATE mail_user SET password = $2 WHERE name = $1");
        command.Parameters.AddWithValue(name);
        command.Parameters.AddWithValue(storedSecret);
        return command.ExecuteNonQuery() == 1;
    }

    /// <summary>Removes a user (their mail stays); false when there is no such user.</summary>
    public bool Remove(string name)
    {
        using var command = _dataSource.CreateCommand("DELETE FROM mail_user WHERE name = $1");
        command.Parameters.AddWithValue(name);
        return command.ExecuteNonQuery() == 1;
    }

    public IReadOnlyList<string> List()
    {
        using var command = _dataSource.CreateCommand("SELECT name FROM mail_user ORDER BY name");
        using var reader = command.ExecuteReader();
        var names = new List<string>();
        while (reader.Read()) names.Add(reader.GetString(0));
        return names;
    }

    private static Dictionary<string, string> ParseFields(string[] fields)
    {
        var result = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var field in fields)
        {
            var equals = field.IndexOf('=', StringComparison.Ordinal);
            if (equals < 0) result[field] = "";
            else result[field[..equals]] = field[(equals + 1)..];
        }
        return result;
    }

    public ValueTask DisposeAsync() => _dataSource.DisposeAsync();

    public void Dispose() => _dataSource.Dispose();
}
