using Restante.Auth;

namespace Restante.Tests.Auth.Sasl;

internal sealed class MemoryUsers(Dictionary<string, string> passwords) : IUserDirectory
{
    public ValueTask<UserRecord?> FindAsync(string name, CancellationToken cancellationToken)
        => ValueTask.FromResult(passwords.TryGetValue(name, out var password)
            ? new UserRecord(name, password, new Dictionary<string, string>())
            : null);
}
