namespace Restante.Auth;

/// <param name="User">The user's name as stored when the credentials are real; null when they are made up.</param>
/// <param name="Credentials">What the exchange runs with, real or not.</param>
public sealed record ScramLookup(string? User, ScramCredentials Credentials);
