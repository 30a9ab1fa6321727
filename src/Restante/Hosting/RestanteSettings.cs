using System.Collections;
using System.Globalization;
using System.Reflection;
using Microsoft.Extensions.Configuration;
using Restante.Auth;
using Restante.Lmtp;
using Restante.Networking;
using Restante.Pop3;

namespace Restante.Hosting;

/// <summary>
/// Every options object a server is built from, bound from one configuration, with the key each
/// value lives under. What `restante config check` prints and what a reload compares.
/// </summary>
public sealed class RestanteSettings
{
    public RestanteOptions Server { get; init; } = new();

    public Pop3Options Pop3 { get; init; } = new();

    public ConnectionLimitOptions Connections { get; init; } = new();

    public LoginThrottleOptions LoginThrottle { get; init; } = new();

    public ListenerConnectionLimits LmtpConnections { get; init; } = new();

    public ListenerConnectionLimits SmtpConnections { get; init; } = new();

    public LmtpLimits LmtpLimits { get; init; } = new();

    /// <summary>Binds the keys AddRestante binds, from the same places.</summary>
    /// <param name="adjust">Changes after binding (a command line's listener lists, which replace rather than merge).</param>
    public static RestanteSettings Bind(IConfiguration configuration, Action<RestanteOptions>? adjust = null)
    {
        ArgumentNullException.ThrowIfNull(configuration);
        var settings = new RestanteSettings
        {
            Server = configuration.Get<RestanteOptions>() ?? new(),
            Pop3 = configuration.Get<Pop3Options>() ?? new(),
            Connections = configuration.Get<ConnectionLimitOptions>() ?? new(),
            LoginThrottle = configuration.GetSection("LoginThrottle").Get<LoginThrottleOptions>() ?? new(),
            LmtpConnections = configuration.GetSection("LmtpConnections").Get<ListenerConnectionLimits>() ?? new(),
            SmtpConnections = configuration.GetSection("SmtpConnections").Get<ListenerConnectionLimits>() ?? new(),
            LmtpLimits = configuration.GetSection("LmtpLimits").Get<LmtpLimits>() ?? new(),
        };
        adjust?.Invoke(settings.Server);
        return settings;
    }

    /// <summary>The problems, each naming its key; empty when every value is usable. Files are not opened here.</summary>
    public IEnumerable<string> Validate()
        => Server.Validate().Concat(Pop3.Validate()).Concat(Connections.Validate()).Concat(LoginThrottle.Validate())
            .Concat(LmtpConnections.Validate("LmtpConnections")).Concat(SmtpConnections.Validate("SmtpConnections")).Concat(LmtpLimits.Validate());

    /// <summary>
    /// Every setting as (configuration key, value as text), in a stable order. A list is one entry under
    /// its key, its items joined by ", ". Where the server derives a value (the embedded listener
    /// defaults, DATA/passwd), the derived one is shown: it is what the server uses.
    /// </summary>
    public IReadOnlyList<Setting> Flatten()
    {
        var result = new List<Setting>();
        Walk(Server, "", result);
        Walk(Pop3, "", result);
        Walk(Connections, "", result);
        Walk(LoginThrottle, "LoginThrottle:", result);
        Walk(LmtpConnections, "LmtpConnections:", result);
        Walk(SmtpConnections, "SmtpConnections:", result);
        Walk(LmtpLimits, "LmtpLimits:", result);
        return result;
    }

    // Reflection, kept trim-safe: ISettingsSection is annotated so the trimmer keeps the public
    // properties of every options class, and GetType() on one carries that annotation (no list of
    // keys to keep in step with the classes).
    private static void Walk(ISettingsSection options, string prefix, List<Setting> result)
    {
        var type = options.GetType();
        foreach (var property in type.GetProperties(BindingFlags.Public | BindingFlags.Instance))
        {
            if (property.SetMethod is not { IsPublic: true } || property.GetIndexParameters().Length > 0) continue;
            var value = property.GetValue(options);
            // RestanteOptions.EffectivePop3 and the like: what the server derives from an empty value.
            if (type.GetProperty("Effective" + property.Name) is { } effective
                && (effective.PropertyType == typeof(string) || typeof(IEnumerable<string>).IsAssignableFrom(effective.PropertyType)))
                value = effective.GetValue(options);
            var key = prefix + property.Name;
            switch (value)
            {
                case null:
                    result.Add(new Setting(key, "", IsList: false));
                    break;
                case string text:
                    result.Add(new Setting(key, text, IsList: false));
                    break;
                case IEnumerable items:
                    result.Add(new Setting(key, string.Join(", ", items.Cast<object?>().Select(Format)), IsList: true));
                    break;
                case ISettingsSection nested:
                    Walk(nested, key + ":", result);
                    break;
                case var other when IsOptionsClass(property.PropertyType):
                    // Printed as its type name, and a trimmed build would have dropped its properties.
                    throw new InvalidOperationException($"{other.GetType()} ({key}) is an options class that does not implement {nameof(ISettingsSection)}");
                default:
                    result.Add(new Setting(key, Format(value), IsList: false));
                    break;
            }
        }
    }

    private static bool IsOptionsClass(Type type) => type.IsClass && type != typeof(string) && type.Namespace?.StartsWith("Restante", StringComparison.Ordinal) == true;

    private static string Format(object? value) => value switch
    {
        null => "",
        bool b => b ? "true" : "false",
        TimeSpan t => t.ToString("c", CultureInfo.InvariantCulture),
        IFormattable f => f.ToString(null, CultureInfo.InvariantCulture),
        _ => value.ToString() ?? "",
    };
}

/// <summary>One setting: its configuration key (sections joined by ':'), its value as text, and whether it is a list.</summary>
public readonly record struct Setting(string Key, string Value, bool IsList);
