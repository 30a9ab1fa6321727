using Restante.Auth;

namespace Restante.Fuzz;

/// <summary>A user directory with a single user, alice, password "secret".</summary>
internal sealed class OneUser : IUserDirectory
{
    private static readonly UserRecord s_alice = new("alice", "{PLAIN}secret", new Dictionary<string, string>());

    public ValueTask<UserRecord?> FindAsync(string name, CancellationToken cancellationToken)
        => ValueTask.FromResult(name == "alice" ? s_alice : null);
}
