using System.Collections.Concurrent;
using Restante.Auth;

namespace Restante.Testing;

/// <summary>The kit's users, held in memory, with plaintext passwords ("{PLAIN}"): they are test fixtures, not secrets.</summary>
internal sealed class TestUserDirectory : IUserDirectory
{
    private static readonly IReadOnlyDictionary<string, string> NoFields = new Dictionary<string, string>();
    private readonly ConcurrentDictionary<string, UserRecord> _users = new(StringComparer.Ordinal);

    public void Set(string user, string password) => _users[user] = new UserRecord(user, "{PLAIN}" + password, NoFields);

    public ValueTask<UserRecord?> FindAsync(string name, CancellationToken cancellationToken)
        => ValueTask.FromResult(_users.TryGetValue(name, out var record) ? record : null);

    // Every kit user has a {PLAIN} secret, so APOP can serve anyone the test added: the greeting
    // carries a timestamp, as a production server with plaintext secrets would (Pop3:Apop auto).
    public bool HasApopSecrets => !_users.IsEmpty;
}
