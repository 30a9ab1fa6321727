using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Console;

namespace Restante.Cli;

/// <summary>
/// The console log's shape, from Logging:Format (--log-format): "simple", one line per event for people and
/// journald, or "json", one JSON object per line for log shippers (the runtime's own JsonConsoleFormatter, which
/// escapes every string value, so client text can neither end a line nor close a value and forge a field).
/// </summary>
internal static partial class ConsoleLogFormat
{
    public const string Simple = "simple";
    public const string Json = "json";

    public static IEnumerable<string> Validate(string? format)
    {
        if (format is not (null or Simple or Json))
            yield return $"Logging:Format: '{format}' is neither {Simple} nor {Json}.";
    }

    public static bool IsJson(string? format) => format == Json;

    /// <summary>Adds the console logger in the chosen format. Call before AddSystemd, which picks journald's format for "simple".</summary>
    public static void Add(ILoggingBuilder logging, IServiceCollection services, string? format)
    {
        AddFormats(logging, services, format);
        // The runtime's formatters and options, written a batch at a time (BatchedConsoleWriter) instead of a thread
        // wake-up and a write(2) per line; AddSystemd only chooses a formatter, so it applies to this provider too.
        foreach (var runtimeConsole in services.Where(d => d.ServiceType == typeof(ILoggerProvider) && d.ImplementationType == typeof(ConsoleLoggerProvider)).ToList())
            services.Remove(runtimeConsole);
        services.TryAddEnumerable(ServiceDescriptor.Singleton<ILoggerProvider, BatchedConsoleLoggerProvider>());
    }

    private static void AddFormats(ILoggingBuilder logging, IServiceCollection services, string? format)
    {
        if (!IsJson(format))
        {
            logging.AddSimpleConsole(o =>
            {
                o.IncludeScopes = true;
                o.SingleLine = true;
                o.TimestampFormat = "yyyy-MM-dd HH:mm:ss ";
            });
            return;
        }
        logging.AddJsonConsole(o =>
        {
            o.IncludeScopes = true;
            o.UseUtcTimestamp = true;
            o.TimestampFormat = "yyyy-MM-ddTHH:mm:ss.fffZ";
            o.JsonWriterOptions = new System.Text.Json.JsonWriterOptions { Indented = false };
        });
        // Under systemd AddSystemd picks its own formatter; a shipper that asked for JSON still gets JSON
        // (PostConfigure runs after every Configure, whatever the order of registration).
        services.PostConfigure<ConsoleLoggerOptions>(o => o.FormatterName = ConsoleFormatterNames.Json);
    }

    /// <summary>
    /// Says something at startup ("POP3 listening on …"): printed as is for people, logged as an event in JSON mode so
    /// that every line of the output stays one JSON object.
    /// </summary>
    public static Action<string> Announcer(ILoggerFactory loggers, string? format)
    {
        if (!IsJson(format)) return Console.WriteLine;
        var logger = loggers.CreateLogger("Restante.Cli");
        return text => Announce(logger, text);
    }

    private static void Announce(ILogger logger, string text) => Started(logger, text);

    [LoggerMessage(1, LogLevel.Information, "{Text}", EventName = "Startup")]
    private static partial void Started(ILogger logger, string text);
}
