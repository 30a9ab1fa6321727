using Microsoft.Extensions.Logging;
using Restante.Auth;

namespace Restante.Hosting;

/// <summary>The user directories the library brings, and the one place a directory name becomes a directory.</summary>
public static class UserDirectoryProviders
{
    public static IUserDirectoryProvider Passwd { get; } = new PasswdProvider();

    /// <exception cref="InvalidOperationException">No provider has that name (the message lists the known ones).</exception>
    public static IUserDirectory Create(IEnumerable<IUserDirectoryProvider> providers, RestanteOptions options, ILoggerFactory loggerFactory)
    {
        ArgumentNullException.ThrowIfNull(options);
        var known = providers.ToList();
        var name = options.EffectiveUsers;
        var provider = known.LastOrDefault(p => string.Equals(p.Name, name, StringComparison.OrdinalIgnoreCase))
            ?? throw new InvalidOperationException(
                $"Users: '{options.Users}' is not a known user directory; this program knows {string.Join(", ", known.Select(p => p.Name).Distinct())}.");
        return provider.Create(options, loggerFactory);
    }

    private sealed class PasswdProvider : IUserDirectoryProvider
    {
        public string Name => "passwd";

        public IUserDirectory Create(RestanteOptions options, ILoggerFactory loggerFactory)
            => new PasswdFile(options.EffectivePasswdFile, loggerFactory.CreateLogger<PasswdFile>());
    }
}
