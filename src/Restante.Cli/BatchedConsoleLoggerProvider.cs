using System.Collections.Concurrent;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Logging.Console;
using Microsoft.Extensions.Options;

namespace Restante.Cli;

/// <summary>
/// The console log of <c>restante serve</c>: the runtime's console formatters (simple, json, systemd, chosen and
/// configured exactly as for its console logger, Logging:Console included), writing through a
/// <see cref="BatchedConsoleWriter"/> instead of a thread wake-up and a write(2) per line. Lines are formatted on the
/// logging thread, as the runtime's console logger does, so timestamps and scopes are those of the moment logged.
/// </summary>
[ProviderAlias("Console")]
internal sealed class BatchedConsoleLoggerProvider : ILoggerProvider, ISupportExternalScope
{
    private readonly ConcurrentDictionary<string, BatchedConsoleLogger> _loggers = new(StringComparer.Ordinal);
    private readonly Dictionary<string, ConsoleFormatter> _formatters;
    private readonly BatchedConsoleWriter _writer;
    private readonly IDisposable? _optionsReload;
    private IExternalScopeProvider _scopes = new LoggerExternalScopeProvider();

    public BatchedConsoleLoggerProvider(IOptionsMonitor<ConsoleLoggerOptions> options, IEnumerable<ConsoleFormatter> formatters)
        : this(options, formatters, Console.OpenStandardOutput(), Console.OpenStandardError())
    {
    }

    internal BatchedConsoleLoggerProvider(IOptionsMonitor<ConsoleLoggerOptions> options, IEnumerable<ConsoleFormatter> formatters,
        Stream output, Stream error, TimeSpan? window = null)
    {
        _formatters = formatters.GroupBy(f => f.Name, StringComparer.OrdinalIgnoreCase)
            .ToDictionary(g => g.Key, g => g.Last(), StringComparer.OrdinalIgnoreCase);
        var current = options.CurrentValue;
        _writer = new BatchedConsoleWriter(output, error, current.MaxQueueLength, current.QueueFullMode, window);
        Apply(current);
        _optionsReload = options.OnChange(Apply);
    }

    /// <summary>The formatter and the stderr threshold now in force (a reload of Logging:Console changes them).</summary>
    internal Settings Current { get; private set; } = null!;

    internal sealed record Settings(ConsoleFormatter Formatter, LogLevel ErrorThreshold);

    private void Apply(ConsoleLoggerOptions options)
    {
        // As the runtime's provider does: the named formatter, else the simple one.
        var name = options.FormatterName ?? ConsoleFormatterNames.Simple;
        if (!_formatters.TryGetValue(name, out var formatter)) formatter = _formatters[ConsoleFormatterNames.Simple];
        Current = new Settings(formatter, options.LogToStandardErrorThreshold);
    }

    public ILogger CreateLogger(string categoryName) => _loggers.GetOrAdd(categoryName, static (name, self) => new BatchedConsoleLogger(name, self), this);

    public void SetScopeProvider(IExternalScopeProvider scopeProvider) => _scopes = scopeProvider;

    internal IExternalScopeProvider Scopes => _scopes;

    internal BatchedConsoleWriter Writer => _writer;

    public void Dispose()
    {
        _optionsReload?.Dispose();
        _writer.Dispose();
    }

    private sealed class BatchedConsoleLogger(string category, BatchedConsoleLoggerProvider provider) : ILogger
    {
        // One per thread, reused: the formatter writes into it and the line is taken out as one string.
        [ThreadStatic]
        private static StringWriter? t_text;

        public IDisposable? BeginScope<TState>(TState state) where TState : notnull => provider.Scopes.Push(state);

        // The factory's filters (Logging:LogLevel, Logging:Console:LogLevel) have already decided.
        public bool IsEnabled(LogLevel logLevel) => logLevel != LogLevel.None;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
        {
            if (!IsEnabled(logLevel)) return;
            var settings = provider.Current;
            var text = t_text ??= new StringWriter();
            var entry = new LogEntry<TState>(logLevel, category, eventId, state, exception, formatter);
            var builder = text.GetStringBuilder();
            string line;
            try
            {
                settings.Formatter.Write(in entry, provider.Scopes, text);
                if (builder.Length == 0) return;
                line = builder.ToString();
            }
            finally
            {
                // Also when the formatter threw: a half-written line must not open this thread's next one.
                builder.Clear();
                if (builder.Capacity > 4096) builder.Capacity = 4096;
            }
            provider.Writer.Enqueue(line, toError: logLevel >= settings.ErrorThreshold, urgent: logLevel >= LogLevel.Error);
        }
    }
}
