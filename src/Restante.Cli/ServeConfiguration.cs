using System.Diagnostics.CodeAnalysis;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Configuration.EnvironmentVariables;
using Microsoft.Extensions.Configuration.Json;
using Microsoft.Extensions.Configuration.Memory;
using Restante.Hosting;

namespace Restante.Cli;

/// <summary>
/// Where `restante serve` takes its configuration from, lowest first: built-in defaults, the JSON file,
/// RESTANTE_* environment variables, command-line options. Built once to start, again for every
/// reload (SIGHUP), and by `restante config check` — so all three read the same layers the same way.
/// </summary>
internal sealed class ServeConfiguration
{
    public const string EnvironmentPrefix = "RESTANTE_";

    /// <summary>The lowest layer. A JSON file or RESTANTE_LMTP__0 replaces the LMTP default; [""] turns LMTP off.</summary>
    private static readonly Dictionary<string, string?> Defaults = new()
    {
        ["Logging:LogLevel:Default"] = "Information",
        ["Logging:LogLevel:Microsoft"] = "Warning",
        ["Lmtp:0"] = RestanteOptions.DefaultLmtpAddress,
    };

    public FileInfo? ConfigFile { get; init; }

    /// <summary>Scalar command-line options as configuration keys (the top layer).</summary>
    public Dictionary<string, string?> Overrides { get; init; } = [];

    /// <summary>
    /// Command-line listener lists by configuration key ("Pop3" → --pop3 values). They replace the
    /// configured list rather than merge into it index by index, so they are applied after binding.
    /// </summary>
    public Dictionary<string, string[]> Lists { get; init; } = [];

    /// <summary>Adds the layers to <paramref name="builder"/> (the host's own configuration at start).</summary>
    public void AddTo(IConfigurationBuilder builder)
    {
        builder.AddInMemoryCollection(Defaults);
        if (ConfigFile is not null) builder.AddJsonFile(ConfigFile.FullName, optional: false, reloadOnChange: false);
        builder.AddEnvironmentVariables(EnvironmentPrefix);
        builder.AddInMemoryCollection(Overrides);
    }

    /// <summary>A fresh read of every layer.</summary>
    /// <exception cref="InvalidDataException">The JSON file does not parse.</exception>
    /// <exception cref="FileNotFoundException">The JSON file is gone (or is a directory).</exception>
    /// <exception cref="UnauthorizedAccessException">The JSON file cannot be read (permissions).</exception>
    public IConfigurationRoot Build()
    {
        var builder = new ConfigurationBuilder();
        AddTo(builder);
        return builder.Build();
    }

    /// <summary>
    /// Whether <paramref name="ex"/>, thrown while the layers are read, means the file cannot be used: gone or a
    /// directory (FileNotFoundException), not readable (UnauthorizedAccessException, which is no IOException),
    /// not JSON (InvalidDataException around the parser's error). serve, config check, a SIGHUP reload and the
    /// other commands all ask this one question, so such a file is one "configuration error" line in each of
    /// them, never a stack trace or a reload that dies unlogged.
    /// </summary>
    public static bool IsUnusableFile(Exception ex)
        => ex is InvalidDataException or FormatException or IOException or UnauthorizedAccessException;

    /// <summary>Every layer read (<see cref="Build"/>) and bound (<see cref="TryBind"/>); false with the problem as one line.</summary>
    public bool TryLoad([NotNullWhen(true)] out IConfigurationRoot? root, [NotNullWhen(true)] out RestanteSettings? settings,
        [NotNullWhen(false)] out string? problem)
    {
        settings = null;
        try
        {
            root = Build();
        }
        catch (Exception ex) when (IsUnusableFile(ex))
        {
            root = null;
            problem = Describe(ex);
            return false;
        }
        return TryBind(root, out settings, out problem);
    }

    /// <summary>
    /// <see cref="Bind"/>, false with the problem when a value does not convert ("MaxConnections": "many"): the
    /// configuration binder throws InvalidOperationException naming the key and the value.
    /// </summary>
    public bool TryBind(IConfiguration configuration, [NotNullWhen(true)] out RestanteSettings? settings, [NotNullWhen(false)] out string? problem)
    {
        try
        {
            // The sections serve binds beside RestanteSettings, so config check and a reload refuse what serve would.
            configuration.GetSection("Metrics").Bind(new MetricsOptions());
            problem = LogLevelProblem(configuration);
            settings = problem is null ? Bind(configuration) : null;
            return problem is null;
        }
        catch (InvalidOperationException ex)
        {
            settings = null;
            problem = Describe(ex);
            return false;
        }
    }

    /// <summary>
    /// What serve checks beside <see cref="RestanteSettings.Validate"/>: the metrics endpoint and the console log format.
    /// serve, config check and the other commands (<see cref="CommandConfiguration.LoadAsync"/>) all ask this, so a file
    /// one of them refuses is refused by each.
    /// </summary>
    public static IEnumerable<string> OtherProblems(IConfiguration configuration)
    {
        var metrics = new MetricsOptions();
        configuration.GetSection("Metrics").Bind(metrics);
        return metrics.Validate().Concat(ConsoleLogFormat.Validate(configuration["Logging:Format"]));
    }

    /// <summary>
    /// A Logging:LogLevel value (or a provider's, Logging:Console:LogLevel) that names no level: the logging options
    /// would throw when the host builds its loggers, or inside a reload's change callback, where nothing logs it.
    /// </summary>
    private static string? LogLevelProblem(IConfiguration configuration)
    {
        var logging = configuration.GetSection("Logging");
        IEnumerable<IConfigurationSection> levels = logging.GetSection("LogLevel").GetChildren();
        foreach (var provider in logging.GetChildren()) levels = levels.Concat(provider.GetSection("LogLevel").GetChildren());
        foreach (var level in levels)
            if (level.Value is { } value && !Enum.TryParse<Microsoft.Extensions.Logging.LogLevel>(value, ignoreCase: true, out _))
                return $"'{value}' at '{level.Path}' is not a log level (Trace, Debug, Information, Warning, Error, Critical, None)";
        return null;
    }

    /// <summary>A load failure as one line: which file ("Failed to load configuration from file …") and why (the JSON reader's position).</summary>
    public static string Describe(Exception ex)
        => ex.InnerException is { } inner && inner.Message != ex.Message ? $"{ex.Message} {inner.GetBaseException().Message}" : ex.Message;

    public RestanteSettings Bind(IConfiguration configuration) => RestanteSettings.Bind(configuration, ApplyLists);

    public void ApplyLists(RestanteOptions options)
    {
        if (Lists.TryGetValue(nameof(RestanteOptions.Pop3), out var pop3) && pop3.Length > 0) options.Pop3 = [.. pop3];
        if (Lists.TryGetValue(nameof(RestanteOptions.Pop3s), out var pop3s) && pop3s.Length > 0) options.Pop3s = [.. pop3s];
        if (Lists.TryGetValue(nameof(RestanteOptions.Lmtp), out var lmtp) && lmtp.Length > 0) options.Lmtp = [.. lmtp];
        if (Lists.TryGetValue(nameof(RestanteOptions.Smtp), out var smtp) && smtp.Length > 0) options.Smtp = [.. smtp];
    }

    /// <summary>
    /// Which layer <paramref name="key"/>'s value comes from: the highest one that sets it ("default" when
    /// none does and the value is the program's own). A list counts as set by a layer with any item of it.
    /// </summary>
    public string SourceOf(IConfigurationRoot root, string key, bool isList)
    {
        if (isList && Lists.TryGetValue(key, out var listed) && listed.Length > 0) return $"command line (--{key.ToLowerInvariant()})";
        var providers = root.Providers.ToList();
        for (var i = providers.Count - 1; i >= 0; i--)
        {
            var provider = providers[i];
            var sets = isList ? provider.GetChildKeys([], key).Any() : provider.TryGet(key, out _);
            if (!sets) continue;
            return provider switch
            {
                JsonConfigurationProvider json => $"file {ConfigFile?.FullName ?? json.Source.Path}",
                EnvironmentVariablesConfigurationProvider => $"environment {EnvironmentPrefix}{key.Replace(":", "__", StringComparison.Ordinal)}{(isList ? "__<n>" : "")}",
                MemoryConfigurationProvider when i == 0 => "default",
                _ => "command line",
            };
        }
        return "default";
    }
}
