namespace Restante.Auth;

/// <param name="Name">The login name.</param>
/// <param name="Password">The stored secret as "{SCHEME}encoded".</param>
/// <param name="Fields">Extra "key=value" fields from the passwd file (userdb_quota_rule=…), for later features.</param>
public sealed record UserRecord(string Name, string Password, IReadOnlyDictionary<string, string> Fields);
