using Microsoft.Extensions.Logging;

namespace Restante.Fuzz;

/// <summary>Turns a session's "failed" log event (an exception it could only log) into something the fuzzer sees.</summary>
internal sealed class FailureLogger(string failedEventName) : ILoggerFactory, ILogger
{
    private Exception? _failure;

    public void ThrowIfFailed()
    {
        if (_failure is not null) throw new InvalidOperationException("session failed", _failure);
    }

    public ILogger CreateLogger(string categoryName) => this;
    public IDisposable? BeginScope<TState>(TState state) where TState : notnull => null;
    public bool IsEnabled(LogLevel logLevel) => logLevel >= LogLevel.Warning;

    public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
    {
        if (exception is not null && (eventId.Name == failedEventName || logLevel >= LogLevel.Error)) _failure ??= exception;
    }

    public void AddProvider(ILoggerProvider provider) { }
    public void Dispose() { }
}
